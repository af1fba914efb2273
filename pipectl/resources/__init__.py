"""One module per AWS resource, each with the same small shape:

- `read(ctx) -> State`: the actual state (never mutates);
- `plan(ctx, state) -> Change`: what `up` must do, with human reasons (also the drift for status);
- `apply(ctx, state, change) -> Change`: do it;
- `plan_destroy(ctx, state, delete_data) -> Change` and `destroy(ctx, state, change) -> Change`.
"""
