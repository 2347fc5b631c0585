package jwsgi.python;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The object-level C API jwsgi calls: references and types, attributes and calls, strings and
 * bytes, numbers, tuples, lists and dicts, modules and pending exceptions. Only the
 * {@code python} and {@code wsgi} packages use it; the others reach Python through
 * {@link Interpreter#callGlue} and {@link PythonFunction}.
 *
 * <p>Each wrapper states the reference semantics of the C function: a <em>new</em> reference
 * (the caller owns it and must {@link #decRef} it), a <em>borrowed</em> one (valid while its
 * owner is alive and the GIL is held), or an argument it <em>steals</em> (the reference passes to
 * the callee). Arguments are borrowed unless a wrapper says it steals them. A {@code NULL}
 * result means a Python exception is set; {@link Interpreter#checked} turns it into a
 * {@link PythonException} (through {@code PendingException}).
 *
 * <p>Threads: any platform thread holding the GIL (an attached thread state).
 */
public final class CPython extends PyBinding {
    private static final long TPFLAGS_LONG_SUBCLASS = 1L << 24;
    private static final long TPFLAGS_LIST_SUBCLASS = 1L << 25;
    private static final long TPFLAGS_TUPLE_SUBCLASS = 1L << 26;
    private static final long TPFLAGS_BYTES_SUBCLASS = 1L << 27;
    private static final long TPFLAGS_UNICODE_SUBCLASS = 1L << 28;
    /** {@code sizeof(Py_buffer)}, the same in every supported version. */
    public static final long PY_BUFFER_BYTES = 80;
    /** Offset of {@code Py_buffer.len}; {@code buf} is at 0. */
    public static final long PY_BUFFER_LEN = 16;
    /** {@code PyBUF_WRITABLE}. */
    public static final int PYBUF_WRITABLE = 0x1;

    /** {@code Py_None}, {@code Py_True}, {@code Py_False}: immortal, shared by every interpreter. */
    public final MemorySegment none = symbol("_Py_NoneStruct");
    public final MemorySegment pyTrue = symbol("_Py_TrueStruct");
    public final MemorySegment pyFalse = symbol("_Py_FalseStruct");
    private final MemorySegment bytesType = symbol("PyBytes_Type");
    private final MemorySegment listType = symbol("PyList_Type");

    CPython(Path library) {
        super(library);
    }

    /** True for a NULL {@code PyObject*}. */
    public static boolean isNull(MemorySegment p) {
        return p.address() == 0;
    }

    // ---- references and types -------------------------------------------------------------

    private final MethodHandle pyIncRef = leaf("Py_IncRef", FunctionDescriptor.ofVoid(ADDRESS));
    private final MethodHandle pyDecRef = fn("Py_DecRef", FunctionDescriptor.ofVoid(ADDRESS));
    // Type checks run several times per request. They take the type's address as a long
    // (the same register in the C ABI): a returned MemorySegment is an object per call.
    private final MethodHandle pyObjectType = leaf("PyObject_Type", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
    private final MethodHandle pyTypeGetFlags = leaf("PyType_GetFlags", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
    // Only for a type reference just taken from a live object, which keeps its type alive:
    // that count never reaches zero, so no Python code can run.
    private final MethodHandle pyTypeDecRef = leaf("Py_DecRef", FunctionDescriptor.ofVoid(JAVA_LONG));

    /** {@code Py_IncRef}: takes a new reference to {@code o}; NULL-safe. */
    public void incRef(MemorySegment o) {
        try { pyIncRef.invokeExact(o); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code Py_DecRef}: releases a reference the caller owns; NULL-safe. May run Python code (finalizers). */
    public void decRef(MemorySegment o) {
        try { pyDecRef.invokeExact(o); } catch (Throwable t) { throw fatal(t); }
    }

    /** The address of {@code o}'s type, borrowed: {@code o} keeps it alive. */
    private long typeAddress(MemorySegment o) throws Throwable {
        long type = (long) pyObjectType.invokeExact(o);
        pyTypeDecRef.invokeExact(type);
        return type;
    }

    /** The flags ({@code Py_TPFLAGS_*}) of {@code o}'s type. */
    public long typeFlags(MemorySegment o) {
        try { return (long) pyTypeGetFlags.invokeExact(typeAddress(o)); } catch (Throwable t) { throw fatal(t); }
    }

    /** True when {@code o} is exactly a {@code bytes} (not a subclass). */
    public boolean isExactBytes(MemorySegment o) {
        return isExactType(o, bytesType);
    }

    /** True when {@code o} is exactly a {@code list}. */
    public boolean isExactList(MemorySegment o) {
        return isExactType(o, listType);
    }

    /** True when {@code o}'s type is exactly {@code type}. */
    public boolean isExactType(MemorySegment o, MemorySegment type) {
        try { return typeAddress(o) == type.address(); } catch (Throwable t) { throw fatal(t); }
    }

    /** True for a {@code str} or a subclass. */
    public boolean isUnicode(MemorySegment o) {
        return (typeFlags(o) & TPFLAGS_UNICODE_SUBCLASS) != 0;
    }

    /** True for a {@code tuple} or a subclass. */
    public boolean isTuple(MemorySegment o) {
        return (typeFlags(o) & TPFLAGS_TUPLE_SUBCLASS) != 0;
    }

    /** True for a {@code list} or a subclass. */
    public boolean isList(MemorySegment o) {
        return (typeFlags(o) & TPFLAGS_LIST_SUBCLASS) != 0;
    }

    /** True for a {@code bytes} or a subclass. */
    public boolean isBytes(MemorySegment o) {
        return (typeFlags(o) & TPFLAGS_BYTES_SUBCLASS) != 0;
    }

    /** True for an {@code int} or a subclass ({@code bool} included). */
    public boolean isLong(MemorySegment o) {
        return (typeFlags(o) & TPFLAGS_LONG_SUBCLASS) != 0;
    }

    // ---- attributes, calls, iteration -------------------------------------------------------

    private final MethodHandle pyObjectGetAttrString = fn("PyObject_GetAttrString", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
    private final MethodHandle pyObjectSetAttrString =
            fn("PyObject_SetAttrString", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    private final MethodHandle pyObjectHasAttrString = fn("PyObject_HasAttrString", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private final MethodHandle pyObjectCall0 = callObjArgs(0);
    private final MethodHandle pyObjectCall1 = callObjArgs(1);
    private final MethodHandle pyObjectCall2 = callObjArgs(2);
    private final MethodHandle pyObjectCall3 = callObjArgs(3);
    private final MethodHandle pyObjectCall = fn("PyObject_Call", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private final MethodHandle pyObjectGetIter = fn("PyObject_GetIter", FunctionDescriptor.of(ADDRESS, ADDRESS));
    private final MethodHandle pyIterNext = fn("PyIter_Next", FunctionDescriptor.of(ADDRESS, ADDRESS));
    private final MethodHandle pyObjectStr = fn("PyObject_Str", FunctionDescriptor.of(ADDRESS, ADDRESS));
    private final MethodHandle pyObjectIsTrue = fn("PyObject_IsTrue", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private final MethodHandle pyCallableCheck = fn("PyCallable_Check", FunctionDescriptor.of(JAVA_INT, ADDRESS));

    /** {@code o.name} ({@code name} a C string): new reference, or NULL with an exception set. */
    public MemorySegment getAttr(MemorySegment o, MemorySegment name) {
        try { return (MemorySegment) pyObjectGetAttrString.invokeExact(o, name); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code o.name = value}; does not steal {@code value}. 0, or -1 with an exception set. */
    public int setAttr(MemorySegment o, MemorySegment name, MemorySegment value) {
        try { return (int) pyObjectSetAttrString.invokeExact(o, name, value); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code hasattr(o, name)}; never raises (an error while looking counts as absent). */
    public boolean hasAttr(MemorySegment o, MemorySegment name) {
        try { return (int) pyObjectHasAttrString.invokeExact(o, name) == 1; } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code f()}: new reference, or NULL with an exception set. */
    public MemorySegment call(MemorySegment f) {
        try { return (MemorySegment) pyObjectCall0.invokeExact(f, MemorySegment.NULL); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code f(a)}: new reference, or NULL with an exception set. */
    public MemorySegment call(MemorySegment f, MemorySegment a) {
        try { return (MemorySegment) pyObjectCall1.invokeExact(f, a, MemorySegment.NULL); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code f(a, b)}: new reference, or NULL with an exception set. */
    public MemorySegment call(MemorySegment f, MemorySegment a, MemorySegment b) {
        try { return (MemorySegment) pyObjectCall2.invokeExact(f, a, b, MemorySegment.NULL); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code f(a, b, c)}: new reference, or NULL with an exception set. */
    public MemorySegment call(MemorySegment f, MemorySegment a, MemorySegment b, MemorySegment c) {
        try { return (MemorySegment) pyObjectCall3.invokeExact(f, a, b, c, MemorySegment.NULL); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code f(*args)} for a tuple {@code args}: new reference, or NULL with an exception set. */
    public MemorySegment callObject(MemorySegment f, MemorySegment args) {
        try { return (MemorySegment) pyObjectCall.invokeExact(f, args, MemorySegment.NULL); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code iter(o)}: new reference to an iterator, or NULL with a TypeError set when {@code o} is not iterable. */
    public MemorySegment getIter(MemorySegment o) {
        try { return (MemorySegment) pyObjectGetIter.invokeExact(o); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code next(it)}: new reference; NULL at the end (no exception set) or on error (exception set). */
    public MemorySegment iterNext(MemorySegment it) {
        try { return (MemorySegment) pyIterNext.invokeExact(it); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code str(o)}: new reference, or NULL with an exception set. */
    public MemorySegment str(MemorySegment o) {
        try { return (MemorySegment) pyObjectStr.invokeExact(o); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code bool(o)}: 1, 0, or -1 with an exception set. */
    public int isTrue(MemorySegment o) {
        try { return (int) pyObjectIsTrue.invokeExact(o); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code callable(o)}; never raises. */
    public boolean isCallable(MemorySegment o) {
        try { return (int) pyCallableCheck.invokeExact(o) == 1; } catch (Throwable t) { throw fatal(t); }
    }

    // ---- strings, bytes, buffers ------------------------------------------------------------

    private final MethodHandle pyUnicodeFromStringAndSize =
            fn("PyUnicode_FromStringAndSize", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG));
    private final MethodHandle pyUnicodeDecodeLatin1 =
            leaf("PyUnicode_DecodeLatin1", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
    private final MethodHandle pyUnicodeAsUtf8AndSize = fn("PyUnicode_AsUTF8AndSize", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
    private final MethodHandle pyUnicodeInternFromString = fn("PyUnicode_InternFromString", FunctionDescriptor.of(ADDRESS, ADDRESS));
    private final MethodHandle pyBytesFromStringAndSize = fn("PyBytes_FromStringAndSize", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG));
    private final MethodHandle pyBytesAsStringAndSize =
            fn("PyBytes_AsStringAndSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    private final MethodHandle pyObjectGetBuffer = fn("PyObject_GetBuffer", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private final MethodHandle pyBufferRelease = fn("PyBuffer_Release", FunctionDescriptor.ofVoid(ADDRESS));

    /** New {@code str} decoded from {@code length} UTF-8 bytes, or NULL with an exception set. */
    public MemorySegment unicodeFromUtf8(MemorySegment utf8, long length) {
        try { return (MemorySegment) pyUnicodeFromStringAndSize.invokeExact(utf8, length); } catch (Throwable t) { throw fatal(t); }
    }

    /** New {@code str} whose code points are the given bytes (PEP 3333 "bytes as str"), or NULL. */
    public MemorySegment unicodeFromLatin1(MemorySegment bytes, long length) {
        try { return (MemorySegment) pyUnicodeDecodeLatin1.invokeExact(bytes, length, MemorySegment.NULL); } catch (Throwable t) { throw fatal(t); }
    }

    /**
     * Borrowed UTF-8 buffer of a {@code str} (cached in the object), its length written to
     * {@code sizeOut}; NULL with an exception set when {@code o} is not a str or holds lone surrogates.
     */
    public MemorySegment unicodeAsUtf8(MemorySegment o, MemorySegment sizeOut) {
        try { return (MemorySegment) pyUnicodeAsUtf8AndSize.invokeExact(o, sizeOut); } catch (Throwable t) { throw fatal(t); }
    }

    /** New reference to the interned {@code str} of a C string, or NULL with an exception set. */
    public MemorySegment internFromString(MemorySegment cString) {
        try { return (MemorySegment) pyUnicodeInternFromString.invokeExact(cString); } catch (Throwable t) { throw fatal(t); }
    }

    /** New {@code bytes} copied from native memory, or NULL with an exception set. */
    public MemorySegment bytesFrom(MemorySegment data, long length) {
        try { return (MemorySegment) pyBytesFromStringAndSize.invokeExact(data, length); } catch (Throwable t) { throw fatal(t); }
    }

    /**
     * Writes a borrowed pointer to the bytes' storage to {@code dataOut} and its length to
     * {@code sizeOut}. Returns 0, or -1 with a TypeError set when {@code o} is not bytes.
     */
    public int bytesAsStringAndSize(MemorySegment o, MemorySegment dataOut, MemorySegment sizeOut) {
        try { return (int) pyBytesAsStringAndSize.invokeExact(o, dataOut, sizeOut); } catch (Throwable t) { throw fatal(t); }
    }

    /**
     * Exports {@code o}'s buffer into {@code view} ({@link #PY_BUFFER_BYTES} bytes), which then
     * holds a new reference to {@code o} until {@link #bufferRelease}. 0, or -1 with an exception set.
     */
    public int getBuffer(MemorySegment o, MemorySegment view, int flags) {
        try { return (int) pyObjectGetBuffer.invokeExact(o, view, flags); } catch (Throwable t) { throw fatal(t); }
    }

    /** Releases a buffer exported by {@link #getBuffer}, and the reference it held. */
    public void bufferRelease(MemorySegment view) {
        try { pyBufferRelease.invokeExact(view); } catch (Throwable t) { throw fatal(t); }
    }

    // ---- numbers, tuples, lists, dicts -------------------------------------------------------

    private final MethodHandle pyLongFromLongLong = leaf("PyLong_FromLongLong", FunctionDescriptor.of(ADDRESS, JAVA_LONG));
    private final MethodHandle pyLongAsLongLong = fn("PyLong_AsLongLong", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
    private final MethodHandle pyTupleNew = fn("PyTuple_New", FunctionDescriptor.of(ADDRESS, JAVA_LONG));
    private final MethodHandle pyTupleSetItem = fn("PyTuple_SetItem", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS));
    private final MethodHandle pyTupleGetItem = fn("PyTuple_GetItem", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG));
    private final MethodHandle pyTupleSize = fn("PyTuple_Size", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
    private final MethodHandle pyListNew = fn("PyList_New", FunctionDescriptor.of(ADDRESS, JAVA_LONG));
    private final MethodHandle pyListAppend = fn("PyList_Append", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private final MethodHandle pyListSize = fn("PyList_Size", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
    private final MethodHandle pyListGetItem = fn("PyList_GetItem", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG));
    private final MethodHandle pyDictNew = fn("PyDict_New", FunctionDescriptor.of(ADDRESS));
    private final MethodHandle pyDictCopy = fn("PyDict_Copy", FunctionDescriptor.of(ADDRESS, ADDRESS));
    private final MethodHandle pyDictSetItem = fn("PyDict_SetItem", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    private final MethodHandle pyDictSetItemString = fn("PyDict_SetItemString", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    private final MethodHandle pyDictGetItemString = fn("PyDict_GetItemString", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
    private final MethodHandle pyDictGetItem = fn("PyDict_GetItem", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));

    /** New {@code int} holding {@code value}, or NULL with a MemoryError set. */
    public MemorySegment longFrom(long value) {
        try { return (MemorySegment) pyLongFromLongLong.invokeExact(value); } catch (Throwable t) { throw fatal(t); }
    }

    /** The value of an {@code int}; -1 with an exception set when it is not one or does not fit. */
    public long longValue(MemorySegment o) {
        try { return (long) pyLongAsLongLong.invokeExact(o); } catch (Throwable t) { throw fatal(t); }
    }

    /** New reference to {@code True} or {@code False}. */
    public MemorySegment bool(boolean value) {
        MemorySegment b = value ? pyTrue : pyFalse;
        incRef(b);
        return b;
    }

    /**
     * New reference to a tuple of {@code size} empty slots, or NULL with an exception set. Fill
     * every slot with {@link #tupleSetItem} before any Python code sees it.
     */
    public MemorySegment tupleNew(long size) {
        try { return (MemorySegment) pyTupleNew.invokeExact(size); } catch (Throwable t) { throw fatal(t); }
    }

    /** Puts {@code item} in a new tuple's slot; steals {@code item}, even on failure. 0, or -1 with an exception set. */
    public int tupleSetItem(MemorySegment tuple, long index, MemorySegment item) {
        try { return (int) pyTupleSetItem.invokeExact(tuple, index, item); } catch (Throwable t) { throw fatal(t); }
    }

    /** Borrowed item, or NULL with an IndexError set. */
    public MemorySegment tupleGetItem(MemorySegment tuple, long index) {
        try { return (MemorySegment) pyTupleGetItem.invokeExact(tuple, index); } catch (Throwable t) { throw fatal(t); }
    }

    /** The length of a tuple, or -1 with an exception set when it is not one. */
    public long tupleSize(MemorySegment tuple) {
        try { return (long) pyTupleSize.invokeExact(tuple); } catch (Throwable t) { throw fatal(t); }
    }

    /** New reference to a list of {@code size} empty slots (0: an empty list), or NULL with an exception set. */
    public MemorySegment listNew(long size) {
        try { return (MemorySegment) pyListNew.invokeExact(size); } catch (Throwable t) { throw fatal(t); }
    }

    /** Appends {@code item}; does not steal it. 0, or -1 with an exception set. */
    public int listAppend(MemorySegment list, MemorySegment item) {
        try { return (int) pyListAppend.invokeExact(list, item); } catch (Throwable t) { throw fatal(t); }
    }

    /** The length of a list, or -1 with an exception set when it is not one. */
    public long listSize(MemorySegment list) {
        try { return (long) pyListSize.invokeExact(list); } catch (Throwable t) { throw fatal(t); }
    }

    /** Borrowed item, or NULL with an IndexError set. */
    public MemorySegment listGetItem(MemorySegment list, long index) {
        try { return (MemorySegment) pyListGetItem.invokeExact(list, index); } catch (Throwable t) { throw fatal(t); }
    }

    /** New reference to an empty dict, or NULL with an exception set. */
    public MemorySegment dictNew() {
        try { return (MemorySegment) pyDictNew.invokeExact(); } catch (Throwable t) { throw fatal(t); }
    }

    /** Shallow copy: new reference, or NULL with an exception set. */
    public MemorySegment dictCopy(MemorySegment dict) {
        try { return (MemorySegment) pyDictCopy.invokeExact(dict); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code dict[key] = value}; steals neither. 0, or -1 with an exception set. */
    public int dictSetItem(MemorySegment dict, MemorySegment key, MemorySegment value) {
        try { return (int) pyDictSetItem.invokeExact(dict, key, value); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code dict[key] = value} for a C-string key; does not steal {@code value}. 0, or -1 with an exception set. */
    public int dictSetItemString(MemorySegment dict, MemorySegment key, MemorySegment value) {
        try { return (int) pyDictSetItemString.invokeExact(dict, key, value); } catch (Throwable t) { throw fatal(t); }
    }

    /** Borrowed value for a C-string key, or NULL (no exception set) when absent. */
    public MemorySegment dictGetItemString(MemorySegment dict, MemorySegment key) {
        try { return (MemorySegment) pyDictGetItemString.invokeExact(dict, key); } catch (Throwable t) { throw fatal(t); }
    }

    /** Borrowed value, or NULL (no exception set) when absent. With an interned str key this is a hash lookup and nothing more. */
    public MemorySegment dictGetItem(MemorySegment dict, MemorySegment key) {
        try { return (MemorySegment) pyDictGetItem.invokeExact(dict, key); } catch (Throwable t) { throw fatal(t); }
    }

    // ---- modules, code, sys, functions --------------------------------------------------------

    private final MethodHandle pyImportImportModule = fn("PyImport_ImportModule", FunctionDescriptor.of(ADDRESS, ADDRESS));
    private final MethodHandle pyImportExecCodeModuleEx =
            fn("PyImport_ExecCodeModuleEx", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private final MethodHandle pyCompileString = fn("Py_CompileString", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
    private final MethodHandle pySysSetObject = fn("PySys_SetObject", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private final MethodHandle pySysGetObject = fn("PySys_GetObject", FunctionDescriptor.of(ADDRESS, ADDRESS));
    private final MethodHandle pyCFunctionNewEx = fn("PyCFunction_NewEx", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS));

    /** {@code import name} (a C string): new reference to the module, or NULL with an exception set. */
    public MemorySegment importModule(MemorySegment name) {
        try { return (MemorySegment) pyImportImportModule.invokeExact(name); } catch (Throwable t) { throw fatal(t); }
    }

    /** Executes {@code code} as module {@code name} (registered in sys.modules): new reference, or NULL with an exception set. */
    MemorySegment execCodeModule(MemorySegment name, MemorySegment code, MemorySegment pathname) {
        try { return (MemorySegment) pyImportExecCodeModuleEx.invokeExact(name, code, pathname); } catch (Throwable t) { throw fatal(t); }
    }

    /** Compiles source ({@code start}: {@code Py_file_input} for a module): new code object, or NULL with an exception set. */
    MemorySegment compileString(MemorySegment source, MemorySegment filename, int start) {
        try { return (MemorySegment) pyCompileString.invokeExact(source, filename, start); } catch (Throwable t) { throw fatal(t); }
    }

    /** Sets {@code sys.<name>}; does not steal {@code value}. 0, or -1 with an exception set. */
    public int sysSetObject(MemorySegment name, MemorySegment value) {
        try { return (int) pySysSetObject.invokeExact(name, value); } catch (Throwable t) { throw fatal(t); }
    }

    /** Borrowed {@code sys.<name>}, or NULL (no exception set) when absent. */
    public MemorySegment sysGetObject(MemorySegment name) {
        try { return (MemorySegment) pySysGetObject.invokeExact(name); } catch (Throwable t) { throw fatal(t); }
    }

    /** New builtin function object over a {@code PyMethodDef} (which must outlive it), or NULL with an exception set. */
    MemorySegment cFunctionNew(MemorySegment methodDef, MemorySegment self) {
        try { return (MemorySegment) pyCFunctionNewEx.invokeExact(methodDef, self, MemorySegment.NULL); } catch (Throwable t) { throw fatal(t); }
    }

    // ---- errors and threads -------------------------------------------------------------------

    private final MemorySegment excTypeError = exceptionType("PyExc_TypeError");
    private final MemorySegment excValueError = exceptionType("PyExc_ValueError");
    private final MemorySegment excRuntimeError = exceptionType("PyExc_RuntimeError");
    private final MemorySegment excOSError = exceptionType("PyExc_OSError");
    private final MethodHandle pyErrOccurred = fn("PyErr_Occurred", FunctionDescriptor.of(ADDRESS));
    private final MethodHandle pyErrRestore = fn("PyErr_Restore", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS));
    private final MethodHandle pyErrClear = fn("PyErr_Clear", FunctionDescriptor.ofVoid());
    private final MethodHandle pyErrSetString = fn("PyErr_SetString", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
    private final MethodHandle pyThreadStateSetAsyncExc =
            fn("PyThreadState_SetAsyncExc", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
    private final MethodHandle pyThreadGetThreadIdent = fn("PyThread_get_thread_ident", FunctionDescriptor.of(JAVA_LONG));

    /** Borrowed type of the pending exception, or NULL when none is set. */
    public MemorySegment errOccurred() {
        try { return (MemorySegment) pyErrOccurred.invokeExact(); } catch (Throwable t) { throw fatal(t); }
    }

    /** Sets the pending exception; steals all three (any may be NULL). */
    public void errRestore(MemorySegment type, MemorySegment value, MemorySegment traceback) {
        try { pyErrRestore.invokeExact(type, value, traceback); } catch (Throwable t) { throw fatal(t); }
    }

    /** Clears the pending exception, if any. */
    public void errClear() {
        try { pyErrClear.invokeExact(); } catch (Throwable t) { throw fatal(t); }
    }

    /** The Python exception types jwsgi raises from its own functions. */
    public enum Exc { TYPE_ERROR, VALUE_ERROR, RUNTIME_ERROR, OS_ERROR }

    /**
     * Raises {@code message} as a Python exception of the given type in the current thread.
     * Used by functions implemented in Java, which then return NULL.
     */
    public void raise(Exc type, String message) {
        MemorySegment t = switch (type) {
            case TYPE_ERROR -> excTypeError;
            case VALUE_ERROR -> excValueError;
            case RUNTIME_ERROR -> excRuntimeError;
            case OS_ERROR -> excOSError;
        };
        try (Arena arena = Arena.ofConfined()) {
            pyErrSetString.invokeExact(t, arena.allocateFrom(message));
        } catch (Throwable e) {
            throw fatal(e);
        }
    }

    /**
     * Schedules {@code exception} (a type, borrowed) to be raised in the Python thread {@code id}
     * the next time it runs bytecode. Returns the number of thread states modified.
     */
    public int threadStateSetAsyncExc(long threadId, MemorySegment exception) {
        try { return (int) pyThreadStateSetAsyncExc.invokeExact(threadId, exception); } catch (Throwable t) { throw fatal(t); }
    }

    /** The calling thread's id as Python knows it ({@code threading.get_ident()}). */
    public long threadIdent() {
        try { return (long) pyThreadGetThreadIdent.invokeExact(); } catch (Throwable t) { throw fatal(t); }
    }
}
