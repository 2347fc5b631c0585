package jwsgi.python;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One Python interpreter and the objects jwsgi caches in it.
 *
 * <p>Python objects belong to the interpreter that made them, so everything cached here
 * (the traceback formatter, jwsgi's glue modules) is per interpreter, never shared. The
 * helpers convert between Java and Python values and turn a pending Python exception into a
 * {@link PythonException}.
 *
 * <p>Threads: any platform thread attached to this interpreter; GIL: must hold.
 */
public final class Interpreter {
    /** {@code Py_file_input}: compile a module body. */
    private static final int PY_FILE_INPUT = 257;

    private final CPython api;
    private final PendingException pending;
    private final MemorySegment state;
    private MemorySegment formatException;

    Interpreter(CPython api, PendingException pending, MemorySegment state) {
        this.api = api;
        this.pending = pending;
        this.state = state;
    }

    public CPython api() {
        return api;
    }

    MemorySegment state() {
        return state;
    }

    /** Returns {@code result} when it is not NULL, else throws the pending Python exception. */
    public MemorySegment checked(MemorySegment result) {
        if (CPython.isNull(result)) throw fetchError();
        return result;
    }

    /** Throws the pending Python exception when {@code status} is -1. */
    public void checked(int status) {
        if (status == -1) throw fetchError();
    }

    /**
     * Takes the pending Python exception (clearing it) and returns it with its formatted
     * traceback. Never calls {@code PyErr_Print}, which exits the process on SystemExit.
     */
    public PythonException fetchError() {
        try (PendingException.Taken e = pending.take()) {
            if (e == null) return new PythonException("SystemError", "a Python call failed without setting an exception", "", false);
            String typeName = attrString(e.type(), "__name__", "Exception");
            String message = CPython.isNull(e.value()) ? "" : strOrPlaceholder(e.value());
            return new PythonException(typeName, message, format(e.type(), e.value(), e.traceback()), pending.isExit(e.type()));
        }
    }

    private String format(MemorySegment type, MemorySegment value, MemorySegment tb) {
        try {
            if (formatException == null) {
                MemorySegment module = checked(importModule("traceback"));
                try {
                    formatException = checked(getAttr(module, "format_exception"));
                } finally {
                    api.decRef(module);
                }
            }
            MemorySegment tbArg = CPython.isNull(tb) ? api.none : tb;
            MemorySegment valueArg = CPython.isNull(value) ? api.none : value;
            MemorySegment lines = checked(api.call(formatException, type, valueArg, tbArg));
            try {
                StringBuilder text = new StringBuilder();
                long n = api.listSize(lines);
                for (long i = 0; i < n; i++) text.append(toJava(api.listGetItem(lines, i)));
                return text.toString();
            } finally {
                api.decRef(lines);
            }
        } catch (PythonException e) {
            return attrString(type, "__name__", "Exception") + ": <traceback could not be formatted: " + e.getMessage() + ">\n";
        }
    }

    private String strOrPlaceholder(MemorySegment o) {
        MemorySegment s = api.str(o);
        if (CPython.isNull(s)) {
            api.errClear();
            return "<unprintable>";
        }
        try {
            return toJava(s);
        } finally {
            api.decRef(s);
        }
    }

    private String attrString(MemorySegment o, String name, String fallback) {
        MemorySegment v = getAttr(o, name);
        if (CPython.isNull(v)) {
            api.errClear();
            return fallback;
        }
        try {
            return api.isUnicode(v) ? toJava(v) : fallback;
        } finally {
            api.decRef(v);
        }
    }

    /** New reference to a {@code str} holding {@code s}, or throws. */
    public MemorySegment string(String s) {
        return checked(newString(s));
    }

    private MemorySegment newString(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(1, utf8.length));
            MemorySegment.copy(utf8, 0, buf, JAVA_BYTE, 0, utf8.length);
            return api.unicodeFromUtf8(buf, utf8.length);
        }
    }

    /** New reference to an interned {@code str}: for keys that are looked up on every request. */
    public MemorySegment internedString(String s) {
        try (Arena arena = Arena.ofConfined()) {
            return checked(api.internFromString(arena.allocateFrom(s)));
        }
    }

    /** New reference to a {@code list} of {@code str}. */
    public MemorySegment stringList(List<String> values) {
        return checked(newList(values));
    }

    /**
     * New reference to the Python value of {@code value}, or throws:
     * <ul>
     *   <li>{@code null} → None; a {@link Boolean} → bool; a {@link Long}, {@link Integer},
     *       {@link Short} or {@link Byte} → int; a {@link String} → str; a {@link List} → list
     *       (its items converted alike);</li>
     *   <li>a {@link MemorySegment} → that Python object itself (NULL → None), or a
     *       {@link PythonFunction} → its callable: both borrowed, the result is a new reference;</li>
     *   <li>a {@link JavaFunction.Named} → a new builtin function running its body.</li>
     * </ul>
     *
     * @throws IllegalArgumentException for any other Java type
     */
    public MemorySegment toPython(Object value) {
        return checked(newObject(value));
    }

    /** {@link #toPython}, but NULL with the Python exception set when Python fails (out of memory). */
    MemorySegment newObject(Object value) {
        return switch (value) {
            case null -> newReference(api.none);
            case MemorySegment o -> newReference(CPython.isNull(o) ? api.none : o);
            case PythonFunction f -> newReference(f.object());
            case Boolean b -> api.bool(b);
            case Long n -> api.longFrom(n);
            case Integer n -> api.longFrom(n);
            case Short n -> api.longFrom(n);
            case Byte n -> api.longFrom(n);
            case String str -> newString(str);
            case List<?> items -> newList(items);
            case JavaFunction.Named f -> JavaFunction.create(api, f.name(), f.body());
            default -> throw new IllegalArgumentException("jwsgi passes no " + value.getClass().getName()
                    + " to Python; use null, Boolean, Long, Integer, String, List, a Python object or a JavaFunction.Named");
        };
    }

    private MemorySegment newReference(MemorySegment o) {
        api.incRef(o);
        return o;
    }

    private MemorySegment newList(List<?> values) {
        MemorySegment list = api.listNew(0);
        if (CPython.isNull(list)) return list;
        for (Object v : values) {
            MemorySegment item = newObject(v);
            int status = CPython.isNull(item) ? -1 : api.listAppend(list, item);
            api.decRef(item);
            if (status == -1) {
                api.decRef(list);
                return MemorySegment.NULL;
            }
        }
        return list;
    }

    /**
     * The Java value of a Python object (borrowed): None → {@code null}, bool → {@link Boolean},
     * int → {@link Long}, str → {@link String}, list or tuple → {@link List} of the items' values.
     *
     * @throws PythonException for any other type, or an int that does not fit in a long
     */
    public Object fromPython(MemorySegment o) {
        if (o.address() == api.none.address()) return null;
        if (o.address() == api.pyTrue.address()) return Boolean.TRUE;
        if (o.address() == api.pyFalse.address()) return Boolean.FALSE;
        if (api.isUnicode(o)) return toJava(o);
        if (api.isLong(o)) {
            long v = api.longValue(o);
            if (v == -1 && !CPython.isNull(api.errOccurred())) throw fetchError();
            return v;
        }
        boolean list = api.isList(o);
        if (list || api.isTuple(o)) {
            long n = list ? api.listSize(o) : api.tupleSize(o);
            List<Object> values = new ArrayList<>((int) n);
            for (long i = 0; i < n; i++) values.add(fromPython(list ? api.listGetItem(o, i) : api.tupleGetItem(o, i)));
            return values;
        }
        MemorySegment type = checked(getAttr(o, "__class__"));
        try {
            throw new PythonException("TypeError", "a Python " + attrString(type, "__name__", "object")
                    + " has no Java value; jwsgi reads None, bool, int, str, list and tuple", "", false);
        } finally {
            api.decRef(type);
        }
    }

    /**
     * Calls {@code function} of the bundled glue module {@code module} (loaded once) with
     * {@link #toPython Java values}, and returns its result's {@link #fromPython Java value}.
     *
     * @throws PythonException when it raised
     */
    public Object callGlue(String module, String function, Object... args) {
        try (PythonFunction f = glueFunction(module, function)) {
            return f.call(args);
        }
    }

    /** {@code function} of the bundled glue module {@code module} (loaded once), for repeated calls. */
    public PythonFunction glueFunction(String module, String function) {
        MemorySegment m = bundledModuleOnce(module);
        try {
            return new PythonFunction(this, checked(getAttr(m, function)));
        } finally {
            api.decRef(m);
        }
    }

    /** The value of a {@code str} (borrowed), or throws when it is not one. */
    public String toJava(MemorySegment str) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment size = arena.allocate(JAVA_LONG);
            MemorySegment data = checked(api.unicodeAsUtf8(str, size));
            long n = size.get(JAVA_LONG, 0);
            return new String(data.reinterpret(n).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
        }
    }

    /** New reference to {@code o.name}, or NULL with an exception set. */
    public MemorySegment getAttr(MemorySegment o, String name) {
        try (Arena arena = Arena.ofConfined()) {
            return api.getAttr(o, arena.allocateFrom(name));
        }
    }

    /** New reference to the result of {@code o.name()}, or NULL with an exception set. */
    public MemorySegment callMethod(MemorySegment o, String name) {
        MemorySegment method = getAttr(o, name);
        if (CPython.isNull(method)) return method;
        try {
            return api.call(method);
        } finally {
            api.decRef(method);
        }
    }

    /** The name of {@code o}'s type, for error messages; "object" when it cannot be read (no exception is left set). */
    public String typeName(MemorySegment o) {
        MemorySegment type = getAttr(o, "__class__");
        if (CPython.isNull(type)) {
            api.errClear();
            return "object";
        }
        try {
            return attrString(type, "__name__", "object");
        } finally {
            api.decRef(type);
        }
    }

    /** {@code o.name = value}, or throws. */
    public void setAttr(MemorySegment o, String name, MemorySegment value) {
        try (Arena arena = Arena.ofConfined()) {
            checked(api.setAttr(o, arena.allocateFrom(name), value));
        }
    }

    /** New reference to the module, or NULL with an exception set. */
    public MemorySegment importModule(String name) {
        try (Arena arena = Arena.ofConfined()) {
            return api.importModule(arena.allocateFrom(name));
        }
    }

    /** Borrowed {@code sys.name}, or NULL when it does not exist. */
    public MemorySegment sys(String name) {
        try (Arena arena = Arena.ofConfined()) {
            return api.sysGetObject(arena.allocateFrom(name));
        }
    }

    /** {@code sys.name = value} (not stolen), or throws. */
    public void setSys(String name, MemorySegment value) {
        try (Arena arena = Arena.ofConfined()) {
            checked(api.sysSetObject(arena.allocateFrom(name), value));
        }
    }

    /**
     * Runs a Python module bundled in jwsgi's resources ({@code /jwsgi/<name>.py}) and
     * registers it in {@code sys.modules} as {@code name}; returns a new reference to it.
     */
    public MemorySegment loadBundledModule(String name) {
        String resource = "/jwsgi/" + name + ".py";
        String source;
        try (InputStream in = Interpreter.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("missing resource " + resource);
            source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + resource, e);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment filename = arena.allocateFrom("<jwsgi>/" + name + ".py");
            MemorySegment code = checked(api.compileString(arena.allocateFrom(source), filename, PY_FILE_INPUT));
            try {
                return checked(api.execCodeModule(arena.allocateFrom(name), code, filename));
            } finally {
                api.decRef(code);
            }
        }
    }

    /** Runs a bundled module for its effect (registering it in {@code sys.modules}), or throws. */
    public void runBundledModule(String name) {
        api.decRef(loadBundledModule(name));
    }

    /**
     * A bundled module loaded once per interpreter: a new reference to the one in
     * {@code sys.modules} when it is there, else {@link #loadBundledModule loaded} now.
     * For glue modules that keep state between calls.
     */
    public MemorySegment bundledModuleOnce(String name) {
        MemorySegment modules = sys("modules");
        if (!CPython.isNull(modules)) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment module = api.dictGetItemString(modules, arena.allocateFrom(name));
                if (!CPython.isNull(module)) {
                    api.incRef(module);
                    return module;
                }
            }
        }
        return loadBundledModule(name);
    }

    /** New reference to a builtin function implemented by {@code body}. */
    public MemorySegment function(String name, JavaFunction.Body body) {
        return checked(JavaFunction.create(api, name, body));
    }
}
