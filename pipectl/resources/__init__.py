"""One module per AWS resource, each with the same small shape:

- `read(ctx) -> State`: the actual state (never mutates);
- `plan(ctx, state) -> Change`: what `up` must do, with human reasons (also the drift for status);
- `apply(ctx, state, change) -> Change`: do it;
- `plan_destroy(ctx, state) -> Change` and `destroy(ctx, state, change) -> Change`.

What a step needs besides the state (the package, `with_tags`, `teardown`, `delete_data`)
travels in the context (`pipectl/context.py`); `base.py` holds the typed contract.
"""
