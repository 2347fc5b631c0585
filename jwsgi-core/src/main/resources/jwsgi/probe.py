# Run by jwsgi with the interpreter the user chose, once, before embedding it.
# Prints what jwsgi needs to load that interpreter's libpython and to make sys.prefix,
# sys.executable and sys.path inside the server equal to what the interpreter shows alone.
# Written so that any Python (even 2.7) can run it, so jwsgi can say which version it found.
import sys

# sys.path[0] is the entry for "-c" (the working directory); an embedded interpreter has none.
# Drop it before importing anything, so a file in the working directory cannot shadow sysconfig.
path = sys.path[1:]
del sys.path[0]

import sysconfig  # noqa: E402


def emit(key, value):
    sys.stdout.write("%s\t%s\n" % (key, "" if value is None else value))


cv = sysconfig.get_config_var
implementation = getattr(sys, "implementation", None)
emit("version", "%d.%d.%d" % tuple(sys.version_info[:3]))
emit("implementation", implementation.name if implementation else "cpython")
emit("executable", sys.executable)
emit("prefix", sys.prefix)
emit("base_prefix", getattr(sys, "base_prefix", sys.prefix))
emit("libdir", cv("LIBDIR"))
emit("instsoname", cv("INSTSONAME"))
emit("ldlibrary", cv("LDLIBRARY"))
emit("shared", cv("Py_ENABLE_SHARED"))
emit("gil_disabled", cv("Py_GIL_DISABLED"))
for entry in path:
    emit("path", entry)
