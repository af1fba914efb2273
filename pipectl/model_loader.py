"""botocore's model loader, minus two costs a short command pays for every client it makes.

- botocore decodes every model file into `OrderedDict`s; plain dicts keep the same order (since
  Python 3.7) and are quicker to build. This is most of the gain.
- To check a service name, botocore lists the services it ships for each model type: ~420
  folders, each listed and its versions probed for the file, once per type (three types for the
  first client). Here a model is loaded after looking in that service's own folders only, and
  when the whole list is asked for (an unknown service's error, `get_available_services`), one
  walk of the same folders answers every type, with the same sorted list.

A session and the seven clients a `pipectl up` makes (STS, S3, DynamoDB, IAM, Logs, SQS,
Lambda), in a new process: 274 ms of CPU with botocore's loader, 192 ms with this one (medians of
9, interleaved, on this project's 2-CPU machine, 2026-11-30:
`python benchmarks/client_creation.py`).

Everything else is botocore's own: the search paths (AWS_DATA_PATH, ~/.aws/models, its data),
which API version is latest, the `sdk` extras, and its errors. Installed through the session's
`data_loader` component, as AWS_DATA_PATH's own loader is.
"""

from __future__ import annotations

import gzip
import json
import os
from typing import Any

from botocore.exceptions import DataNotFoundError, UnknownServiceError
from botocore.loaders import JSONFileLoader, Loader, instance_cache

OPENERS = ((".json", open), (".json.gz", gzip.open))  # botocore's extensions, in its order


class PlainJSONFileLoader(JSONFileLoader):
    """A model file as plain dicts: the same keys in the same order as botocore's OrderedDicts."""

    def load_file(self, file_path: str) -> Any:
        for extension, opener in OPENERS:
            full_path = file_path + extension
            if os.path.isfile(full_path):
                with opener(full_path, "rb") as stream:
                    return json.loads(stream.read().decode("utf-8"))
        return None


class ModelLoader(Loader):
    FILE_LOADER_CLASS = PlainJSONFileLoader

    @instance_cache
    def load_service_model(
        self, service_name: str, type_name: str, api_version: str | None = None
    ) -> Any:
        """botocore's `load_service_model`, which first lists every service it knows for
        `type_name` to check the name. A service is in that list when one of its API version
        folders holds the type's file, which is what `list_api_versions` finds in the service's
        own folders: the same answer, without walking the other ~420."""
        versions = self._api_versions(service_name, type_name)
        if not versions:
            known = self.list_available_services(type_name)
            raise UnknownServiceError(
                service_name=service_name, known_service_names=", ".join(known)
            )
        api_version = api_version or max(versions)
        model = self.load_data(os.path.join(service_name, api_version, type_name))
        extras = self._find_extras(service_name, type_name, api_version)
        self._extras_processor.process(model, extras)
        return model

    def _api_versions(self, service_name: str, type_name: str) -> list[str]:
        """The service's API versions holding `type_name`'s file; none for a name that is not a
        plain folder name (botocore's list holds only the folders directly in its paths)."""
        separators = {os.sep, os.altsep} - {None}
        if service_name.startswith(".") or any(sep in service_name for sep in separators):
            return []
        try:
            return self.list_api_versions(service_name, type_name)
        except DataNotFoundError:
            return []

    @instance_cache
    def list_available_services(self, type_name: str) -> list[str]:
        """botocore's answer (services with some API version holding `type_name`'s file),
        from one walk of the data folders shared by every type."""
        wanted = {type_name + extension for extension, _ in OPENERS}
        return sorted(name for name, files in self._model_files().items() if files & wanted)

    @instance_cache
    def _model_files(self) -> dict[str, set[str]]:
        """Per service folder, the names of the files in all its API version folders."""
        found: dict[str, set[str]] = {}
        for location in self._potential_locations():
            with os.scandir(location) as services:
                for service in services:
                    if service.is_dir():
                        found.setdefault(service.name, set()).update(version_files(service.path))
        return found


def version_files(service_folder: str) -> set[str]:
    names: set[str] = set()
    with os.scandir(service_folder) as versions:
        for version in versions:
            if version.is_dir():
                with os.scandir(version.path) as files:
                    names.update(entry.name for entry in files if entry.is_file())
    return names


def install(session: Any) -> None:
    """Make `session` load models with ModelLoader, honouring AWS_DATA_PATH as botocore does."""
    data_path = session.get_config_variable("data_path")
    extra = None
    if data_path:
        extra = [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)]
    session.register_component("data_loader", ModelLoader(extra_search_paths=extra))
