"""The files of the static family: written once per run into a folder of the results, the same
for every server (jwsgi --static-map, uWSGI --static-map, nginx alias), so each serves the same
bytes from the page cache. Their content is "x" repeated, which the scenarios check."""
import os

import scenarios


def write_files(folder):
    """Writes each of scenarios.STATIC_FILES into folder (created); returns the folder."""
    os.makedirs(folder, exist_ok=True)
    for name, size in scenarios.STATIC_FILES.items():
        path = os.path.join(folder, f"{name}.bin")
        if not os.path.exists(path) or os.path.getsize(path) != size:
            with open(path, "wb") as f:
                f.write(b"x" * size)
    return folder
