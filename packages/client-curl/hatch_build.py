"""Build ``client_curl._cdriver``, the driver loop in C, into the wheel.

The engine runs without it (on the driver written in Python), so a machine with no C
compiler still gets a working, pure-Python wheel, with a warning; set
``CLIENT_CURL_REQUIRE_CDRIVER=1`` to make a failed compile an error instead.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CDriverBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compile ``src/client_curl/_cdriver.c`` next to itself, for this interpreter."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Compile (when the source is newer) and mark the wheel as platform-specific."""
        if self.target_name != "wheel":
            return
        package = Path(self.root) / "src" / "client_curl"
        source = package / "_cdriver.c"
        target = package / ("_cdriver" + str(sysconfig.get_config_var("EXT_SUFFIX")))
        try:
            if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
                compile_extension(source, target)
        except (OSError, subprocess.CalledProcessError) as exc:
            if os.environ.get("CLIENT_CURL_REQUIRE_CDRIVER") == "1":
                raise
            print(
                f"client-curl: could not build the C driver ({exc}); the engine will use "
                "its driver written in Python",
                file=sys.stderr,
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":
            build_data["force_include"][str(target)] = f"client_curl/{target.name}"


def compile_extension(source: Path, target: Path) -> None:
    """Compile and link ``source`` into the extension module ``target``."""
    ldshared = os.environ.get("LDSHARED") or sysconfig.get_config_var("LDSHARED") or "cc -shared"
    include = sysconfig.get_paths()["include"]
    command = [
        *shlex.split(str(ldshared)),
        "-O2",
        "-fPIC",
        "-pthread",
        "-Wall",
        "-I",
        include,
        str(source),
        "-o",
        str(target) + ".tmp",
    ]
    subprocess.run(command, check=True)
    os.replace(str(target) + ".tmp", target)
