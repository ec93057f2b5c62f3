# SPDX-License-Identifier: Apache-2.0
"""A tiny Python provider implementing FATE 2.x's component CLI contract,
used by the integration tests to check that fedflowd runs Python package
providers (metadata.path + metadata.venv) the way FATE-Flow does."""
import json
import sys

IO = {"inputs": {"data": [{"name": "input_data", "optional": True, "is_multi": False,
                           "types": [{"type_name": "dataframe"}]}], "model": []},
      "outputs": {"data": [{"name": "output_data", "optional": True, "is_multi": False,
                            "types": [{"type_name": "dataframe"}]}], "model": [], "metric": []}}


def arg(name):
    return sys.argv[sys.argv.index(name) + 1]


def main():
    sub = sys.argv[2]
    if sub == "artifact-type":
        with open(arg("--output-path"), "w") as f:
            json.dump(IO, f)
        return 0
    if sub == "execute":
        import yaml  # the task config is YAML (JSON is YAML too)
        cfg = yaml.safe_load(open(arg("--config")))
        print("echo", cfg["parameters"]["word"], "inputs:", sorted(cfg["input_artifacts"]))
        out = {"data": {"output_data": {"uri": "", "type_name": "data_unresolved",
                                        "metadata": {"namespace": "ns", "name": "nm"}}}}
        meta = {"status": {"code": 0}, "io_meta": {"inputs": {}, "outputs": out}}
        with open(arg("--execution-final-meta-path"), "w") as f:
            json.dump(meta, f)
        return 0
    if sub == "cleanup":
        return 0
    return 2


sys.exit(main())
