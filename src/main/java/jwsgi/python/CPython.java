package jwsgi.python;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The part of the CPython C API that jwsgi calls, bound through {@link Linker} downcalls.
 *
 * <p>Only exported functions are used, never macros or struct fields (other than the
 * start-up structures in {@link PyInit}), so one binding serves 3.10 to 3.13 and the
 * free-threaded build. Each wrapper states the reference semantics of the C function:
 * "new" (the caller owns the result and must {@link #decRef} it), "borrowed" (valid while
 * the owner is alive and the GIL is held) or "steals" (the argument's reference passes to
 * the callee). A {@code NULL} result means a Python exception is set; callers turn it into
 * a {@link PythonException} with {@link #fetchError}.
 *
 * <p>Threads: any platform thread; every call except the thread-state functions requires the
 * calling thread to hold the GIL (an attached thread state).
 */
public final class CPython {
    /** {@code Py_file_input}: compile a module body. */
    static final int PY_FILE_INPUT = 257;
    /** {@code METH_FASTCALL}: {@code (self, PyObject *const *args, Py_ssize_t nargs)}. */
    static final int METH_FASTCALL = 0x80;
    static final long TPFLAGS_LIST_SUBCLASS = 1L << 25;
    static final long TPFLAGS_TUPLE_SUBCLASS = 1L << 26;
    static final long TPFLAGS_BYTES_SUBCLASS = 1L << 27;
    static final long TPFLAGS_UNICODE_SUBCLASS = 1L << 28;

    private static final Linker LINKER = Linker.nativeLinker();
    /** {@code struct PyStatus}: returned by value from the configuration functions. */
    static final MemoryLayout PY_STATUS = MemoryLayout.structLayout(
            JAVA_INT.withName("_type"), MemoryLayout.paddingLayout(4),
            ADDRESS.withName("func"), ADDRESS.withName("err_msg"),
            JAVA_INT.withName("exitcode"), MemoryLayout.paddingLayout(4));

    private final SymbolLookup lib;
    final PythonVersion version;

    /** {@code Py_None}, {@code Py_True}, {@code Py_False}: immortal, shared by every interpreter. */
    public final MemorySegment none;
    public final MemorySegment pyTrue;
    public final MemorySegment pyFalse;
    private final MemorySegment bytesType;
    private final MemorySegment listType;
    private final MemorySegment excTypeError;
    private final MemorySegment excValueError;
    private final MemorySegment excRuntimeError;
    private final MemorySegment excOSError;
    private final MemorySegment excSystemExit;
    private final MemorySegment excKeyboardInterrupt;

    private final MethodHandle pyConfigInitPythonConfig;
    private final MethodHandle pyConfigSetBytesString;
    private final MethodHandle pyConfigClear;
    private final MethodHandle pyInitializeFromConfig;
    private final MethodHandle pyFinalizeEx;
    private final MethodHandle pyEvalSaveThread;
    private final MethodHandle pyEvalRestoreThread;
    private final MethodHandle pyThreadStateNew;
    private final MethodHandle pyThreadStateClear;
    private final MethodHandle pyThreadStateDeleteCurrent;
    private final MethodHandle pyThreadStateGet;
    private final MethodHandle pyThreadStateGetInterpreter;
    private final MethodHandle pyIncRef;
    private final MethodHandle pyDecRef;
    private final MethodHandle pyObjectType;
    private final MethodHandle pyTypeGetFlags;
    private final MethodHandle pyTypeDecRef;
    private final MethodHandle pyObjectGetAttrString;
    private final MethodHandle pyObjectSetAttrString;
    private final MethodHandle pyObjectHasAttrString;
    private final MethodHandle pyObjectCall1;
    private final MethodHandle pyObjectCall2;
    private final MethodHandle pyObjectCall3;
    private final MethodHandle pyObjectCall;
    private final MethodHandle pyObjectCall0;
    private final MethodHandle pyObjectGetIter;
    private final MethodHandle pyIterNext;
    private final MethodHandle pyObjectStr;
    private final MethodHandle pyObjectIsTrue;
    private final MethodHandle pyCallableCheck;
    private final MethodHandle pyUnicodeFromStringAndSize;
    private final MethodHandle pyUnicodeDecodeLatin1;
    private final MethodHandle pyUnicodeAsUtf8AndSize;
    private final MethodHandle pyUnicodeInternFromString;
    private final MethodHandle pyBytesFromStringAndSize;
    private final MethodHandle pyBytesAsStringAndSize;
    private final MethodHandle pyLongFromLongLong;
    private final MethodHandle pyLongAsLongLong;
    private final MethodHandle pyTupleNew;
    private final MethodHandle pyTupleSetItem;
    private final MethodHandle pyTupleGetItem;
    private final MethodHandle pyTupleSize;
    private final MethodHandle pyListNew;
    private final MethodHandle pyListAppend;
    private final MethodHandle pyListSize;
    private final MethodHandle pyListGetItem;
    private final MethodHandle pyDictNew;
    private final MethodHandle pyDictCopy;
    private final MethodHandle pyDictSetItem;
    private final MethodHandle pyDictSetItemString;
    private final MethodHandle pyDictGetItemString;
    private final MethodHandle pyDictGetItem;
    private final MethodHandle pyImportImportModule;
    private final MethodHandle pyImportExecCodeModuleEx;
    private final MethodHandle pyCompileString;
    private final MethodHandle pySysSetObject;
    private final MethodHandle pySysGetObject;
    private final MethodHandle pyCFunctionNewEx;
    private final MethodHandle pyErrOccurred;
    private final MethodHandle pyErrFetch;
    private final MethodHandle pyErrNormalizeException;
    private final MethodHandle pyErrRestore;
    private final MethodHandle pyErrClear;
    private final MethodHandle pyErrSetString;
    private final MethodHandle pyErrGivenExceptionMatches;
    private final MethodHandle pyExceptionSetTraceback;
    private final MethodHandle pyThreadStateSetAsyncExc;
    private final MethodHandle pyThreadGetThreadIdent;
    /** 3.12+: sub-interpreters with their own GIL; null before. */
    private final MethodHandle pyNewInterpreterFromConfig;
    private final MethodHandle pyObjectGetBuffer;
    private final MethodHandle pyBufferRelease;

    CPython(Path library, PythonVersion version) {
        this.version = version;
        this.lib = SymbolLookup.libraryLookup(library, Arena.global());
        none = symbol("_Py_NoneStruct");
        pyTrue = symbol("_Py_TrueStruct");
        pyFalse = symbol("_Py_FalseStruct");
        bytesType = symbol("PyBytes_Type");
        listType = symbol("PyList_Type");
        excTypeError = exception("PyExc_TypeError");
        excValueError = exception("PyExc_ValueError");
        excRuntimeError = exception("PyExc_RuntimeError");
        excOSError = exception("PyExc_OSError");
        excSystemExit = exception("PyExc_SystemExit");
        excKeyboardInterrupt = exception("PyExc_KeyboardInterrupt");

        pyConfigInitPythonConfig = fn("PyConfig_InitPythonConfig", FunctionDescriptor.ofVoid(ADDRESS));
        pyConfigSetBytesString = fn("PyConfig_SetBytesString", FunctionDescriptor.of(PY_STATUS, ADDRESS, ADDRESS, ADDRESS));
        pyConfigClear = fn("PyConfig_Clear", FunctionDescriptor.ofVoid(ADDRESS));
        pyInitializeFromConfig = fn("Py_InitializeFromConfig", FunctionDescriptor.of(PY_STATUS, ADDRESS));
        pyFinalizeEx = fn("Py_FinalizeEx", FunctionDescriptor.of(JAVA_INT));
        pyEvalSaveThread = fn("PyEval_SaveThread", FunctionDescriptor.of(ADDRESS));
        pyEvalRestoreThread = fn("PyEval_RestoreThread", FunctionDescriptor.ofVoid(ADDRESS));
        pyThreadStateNew = fn("PyThreadState_New", FunctionDescriptor.of(ADDRESS, ADDRESS));
        pyThreadStateClear = fn("PyThreadState_Clear", FunctionDescriptor.ofVoid(ADDRESS));
        pyThreadStateDeleteCurrent = fn("PyThreadState_DeleteCurrent", FunctionDescriptor.ofVoid());
        pyThreadStateGet = fn("PyThreadState_Get", FunctionDescriptor.of(ADDRESS));
        pyThreadStateGetInterpreter = fn("PyThreadState_GetInterpreter", FunctionDescriptor.of(ADDRESS, ADDRESS));
        pyIncRef = leaf("Py_IncRef", FunctionDescriptor.ofVoid(ADDRESS));
        pyDecRef = fn("Py_DecRef", FunctionDescriptor.ofVoid(ADDRESS));
        // Type checks run several times per request. They take the type's address as a long
        // (the same register in the C ABI): a returned MemorySegment is an object per call.
        pyObjectType = leaf("PyObject_Type", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        pyTypeGetFlags = leaf("PyType_GetFlags", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
        // Only for a type reference just taken from a live object, which keeps its type alive:
        // that count never reaches zero, so no Python code can run.
        pyTypeDecRef = leaf("Py_DecRef", FunctionDescriptor.ofVoid(JAVA_LONG));
        pyObjectGetAttrString = fn("PyObject_GetAttrString", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        pyObjectSetAttrString = fn("PyObject_SetAttrString", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        pyObjectHasAttrString = fn("PyObject_HasAttrString", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        MemorySegment callObjArgs = symbol("PyObject_CallFunctionObjArgs");
        Linker.Option variadic = Linker.Option.firstVariadicArg(1);
        pyObjectCall0 = LINKER.downcallHandle(callObjArgs, FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS), variadic);
        pyObjectCall1 = LINKER.downcallHandle(callObjArgs, FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS), variadic);
        pyObjectCall2 = LINKER.downcallHandle(callObjArgs, FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS), variadic);
        pyObjectCall3 = LINKER.downcallHandle(callObjArgs, FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS), variadic);
        pyObjectCall = fn("PyObject_Call", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        pyObjectGetIter = fn("PyObject_GetIter", FunctionDescriptor.of(ADDRESS, ADDRESS));
        pyIterNext = fn("PyIter_Next", FunctionDescriptor.of(ADDRESS, ADDRESS));
        pyObjectStr = fn("PyObject_Str", FunctionDescriptor.of(ADDRESS, ADDRESS));
        pyObjectIsTrue = fn("PyObject_IsTrue", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        pyCallableCheck = fn("PyCallable_Check", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        pyUnicodeFromStringAndSize = fn("PyUnicode_FromStringAndSize", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG));
        pyUnicodeDecodeLatin1 = leaf("PyUnicode_DecodeLatin1", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
        pyUnicodeAsUtf8AndSize = fn("PyUnicode_AsUTF8AndSize", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        pyUnicodeInternFromString = fn("PyUnicode_InternFromString", FunctionDescriptor.of(ADDRESS, ADDRESS));
        pyBytesFromStringAndSize = fn("PyBytes_FromStringAndSize", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG));
        pyBytesAsStringAndSize = fn("PyBytes_AsStringAndSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        pyLongFromLongLong = leaf("PyLong_FromLongLong", FunctionDescriptor.of(ADDRESS, JAVA_LONG));
        pyLongAsLongLong = fn("PyLong_AsLongLong", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        pyTupleNew = fn("PyTuple_New", FunctionDescriptor.of(ADDRESS, JAVA_LONG));
        pyTupleSetItem = fn("PyTuple_SetItem", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS));
        pyTupleGetItem = fn("PyTuple_GetItem", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG));
        pyTupleSize = fn("PyTuple_Size", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        pyListNew = fn("PyList_New", FunctionDescriptor.of(ADDRESS, JAVA_LONG));
        pyListAppend = fn("PyList_Append", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        pyListSize = fn("PyList_Size", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        pyListGetItem = fn("PyList_GetItem", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG));
        pyDictNew = fn("PyDict_New", FunctionDescriptor.of(ADDRESS));
        pyDictCopy = fn("PyDict_Copy", FunctionDescriptor.of(ADDRESS, ADDRESS));
        pyDictSetItem = fn("PyDict_SetItem", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        pyDictSetItemString = fn("PyDict_SetItemString", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        pyDictGetItemString = fn("PyDict_GetItemString", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        pyDictGetItem = fn("PyDict_GetItem", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        pyImportImportModule = fn("PyImport_ImportModule", FunctionDescriptor.of(ADDRESS, ADDRESS));
        pyImportExecCodeModuleEx = fn("PyImport_ExecCodeModuleEx", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        pyCompileString = fn("Py_CompileString", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
        pySysSetObject = fn("PySys_SetObject", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        pySysGetObject = fn("PySys_GetObject", FunctionDescriptor.of(ADDRESS, ADDRESS));
        pyCFunctionNewEx = fn("PyCFunction_NewEx", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        pyErrOccurred = fn("PyErr_Occurred", FunctionDescriptor.of(ADDRESS));
        pyErrFetch = fn("PyErr_Fetch", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS));
        pyErrNormalizeException = fn("PyErr_NormalizeException", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS));
        pyErrRestore = fn("PyErr_Restore", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS));
        pyErrClear = fn("PyErr_Clear", FunctionDescriptor.ofVoid());
        pyErrSetString = fn("PyErr_SetString", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
        pyErrGivenExceptionMatches = fn("PyErr_GivenExceptionMatches", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        pyExceptionSetTraceback = fn("PyException_SetTraceback", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        pyThreadStateSetAsyncExc = fn("PyThreadState_SetAsyncExc", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        pyThreadGetThreadIdent = fn("PyThread_get_thread_ident", FunctionDescriptor.of(JAVA_LONG));
        pyNewInterpreterFromConfig = lib.find("Py_NewInterpreterFromConfig")
                .map(a -> LINKER.downcallHandle(a, FunctionDescriptor.of(PY_STATUS, ADDRESS, ADDRESS))).orElse(null);
        pyObjectGetBuffer = fn("PyObject_GetBuffer", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        pyBufferRelease = fn("PyBuffer_Release", FunctionDescriptor.ofVoid(ADDRESS));
    }

    private MemorySegment symbol(String name) {
        return lib.find(name).orElseThrow(() -> new PythonStartupException(
                "the Python library lacks the symbol " + name + "; jwsgi supports CPython " + PythonVersion.SUPPORTED));
    }

    /** Reads a {@code PyObject *PyExc_X} global: the symbol holds a pointer to the type. */
    private MemorySegment exception(String name) {
        return symbol(name).reinterpret(ADDRESS.byteSize()).get(ADDRESS, 0);
    }

    private MethodHandle fn(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor);
    }

    /**
     * A function that can run no Python code: it allocates no object the cyclic GC tracks
     * (whose collection runs finalizers, which may call back into Java) and raises nothing but
     * MemoryError. Such calls skip the JVM's thread-state transition (they are nanoseconds long,
     * and many per request) and may read Java arrays directly.
     */
    private MethodHandle leaf(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor, Linker.Option.critical(true));
    }

    private static RuntimeException fatal(Throwable t) {
        return t instanceof RuntimeException r ? r : new IllegalStateException("CPython downcall failed", t);
    }

    /** True for a NULL {@code PyObject*}. */
    public static boolean isNull(MemorySegment p) {
        return p.address() == 0;
    }

    // ---- start-up and thread states -------------------------------------------------------

    void configInitPythonConfig(MemorySegment config) {
        try { pyConfigInitPythonConfig.invokeExact(config); } catch (Throwable t) { throw fatal(t); }
    }

    /** Sets a {@code wchar_t*} field of a PyConfig from a locale-encoded C string. */
    MemorySegment configSetBytesString(SegmentAllocator status, MemorySegment config, MemorySegment field, MemorySegment value) {
        try { return (MemorySegment) pyConfigSetBytesString.invokeExact(status, config, field, value); } catch (Throwable t) { throw fatal(t); }
    }

    void configClear(MemorySegment config) {
        try { pyConfigClear.invokeExact(config); } catch (Throwable t) { throw fatal(t); }
    }

    MemorySegment initializeFromConfig(SegmentAllocator status, MemorySegment config) {
        try { return (MemorySegment) pyInitializeFromConfig.invokeExact(status, config); } catch (Throwable t) { throw fatal(t); }
    }

    int finalizeEx() {
        try { return (int) pyFinalizeEx.invokeExact(); } catch (Throwable t) { throw fatal(t); }
    }

    /** Releases the GIL and detaches the current thread state, which it returns. */
    MemorySegment saveThread() {
        try { return (MemorySegment) pyEvalSaveThread.invokeExact(); } catch (Throwable t) { throw fatal(t); }
    }

    /** Takes the GIL (blocking) and attaches {@code tstate}, which must belong to this OS thread. */
    void restoreThread(MemorySegment tstate) {
        try { pyEvalRestoreThread.invokeExact(tstate); } catch (Throwable t) { throw fatal(t); }
    }

    MemorySegment threadStateNew(MemorySegment interpreter) {
        try { return (MemorySegment) pyThreadStateNew.invokeExact(interpreter); } catch (Throwable t) { throw fatal(t); }
    }

    void threadStateClear(MemorySegment tstate) {
        try { pyThreadStateClear.invokeExact(tstate); } catch (Throwable t) { throw fatal(t); }
    }

    /** Deletes the attached thread state and releases the GIL. */
    void threadStateDeleteCurrent() {
        try { pyThreadStateDeleteCurrent.invokeExact(); } catch (Throwable t) { throw fatal(t); }
    }

    MemorySegment threadStateGet() {
        try { return (MemorySegment) pyThreadStateGet.invokeExact(); } catch (Throwable t) { throw fatal(t); }
    }

    MemorySegment threadStateInterpreter(MemorySegment tstate) {
        try { return (MemorySegment) pyThreadStateGetInterpreter.invokeExact(tstate); } catch (Throwable t) { throw fatal(t); }
    }

    /**
     * Schedules {@code exception} (a type, borrowed) to be raised in the Python thread {@code id}
     * the next time it runs bytecode. Returns the number of thread states modified.
     */
    public int threadStateSetAsyncExc(long threadId, MemorySegment exception) {
        try { return (int) pyThreadStateSetAsyncExc.invokeExact(threadId, exception); } catch (Throwable t) { throw fatal(t); }
    }

    /**
     * {@code Py_NewInterpreterFromConfig} with an isolated configuration: the interpreter's own
     * GIL and object allocator, no fork, no exec, no daemon threads, and only extension modules
     * that support multiple interpreters. Called holding the main GIL; returns the new
     * interpreter's first thread state, current and holding its GIL (the main GIL is released).
     *
     * @throws PythonStartupException when this Python has no such function or creation fails
     */
    MemorySegment newIsolatedInterpreter() {
        if (pyNewInterpreterFromConfig == null) throw new PythonStartupException("this Python has no Py_NewInterpreterFromConfig (3.12+)");
        try (Arena arena = Arena.ofConfined()) {
            // PyInterpreterConfig (3.12, 3.13): use_main_obmalloc, allow_fork, allow_exec, allow_threads,
            // allow_daemon_threads, check_multi_interp_extensions, gil (2: PyInterpreterConfig_OWN_GIL).
            MemorySegment config = arena.allocateFrom(JAVA_INT, 0, 0, 0, 1, 0, 1, 2);
            MemorySegment out = arena.allocate(ADDRESS);
            MemorySegment status = (MemorySegment) pyNewInterpreterFromConfig.invokeExact((SegmentAllocator) arena, out, config);
            if (status.get(JAVA_INT, 0) != 0) {
                MemorySegment message = status.get(ADDRESS, 16);
                throw new PythonStartupException("cannot create a sub-interpreter: "
                        + (message.address() == 0 ? "(no message)" : message.reinterpret(4096).getString(0)));
            }
            return out.get(ADDRESS, 0);
        } catch (PythonStartupException e) {
            throw e;
        } catch (Throwable t) {
            throw fatal(t);
        }
    }

    /** The calling thread's id as Python knows it ({@code threading.get_ident()}). */
    public long threadIdent() {
        try { return (long) pyThreadGetThreadIdent.invokeExact(); } catch (Throwable t) { throw fatal(t); }
    }

    // ---- references and objects -----------------------------------------------------------

    /** {@code Py_IncRef}: NULL-safe. */
    public void incRef(MemorySegment o) {
        try { pyIncRef.invokeExact(o); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code Py_DecRef}: NULL-safe. */
    public void decRef(MemorySegment o) {
        try { pyDecRef.invokeExact(o); } catch (Throwable t) { throw fatal(t); }
    }

    /** The address of {@code o}'s type, borrowed: {@code o} keeps it alive. */
    private long typeAddress(MemorySegment o) throws Throwable {
        long type = (long) pyObjectType.invokeExact(o);
        pyTypeDecRef.invokeExact(type);
        return type;
    }

    /** Returns the type flags of {@code o}'s type ({@code Py_TPFLAGS_*}). */
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

    /** True when {@code o}'s type is exactly {@code type} (borrowed). */
    public boolean isExactType(MemorySegment o, MemorySegment type) {
        try { return typeAddress(o) == type.address(); } catch (Throwable t) { throw fatal(t); }
    }

    public boolean isUnicode(MemorySegment o) {
        return (typeFlags(o) & TPFLAGS_UNICODE_SUBCLASS) != 0;
    }

    public boolean isTuple(MemorySegment o) {
        return (typeFlags(o) & TPFLAGS_TUPLE_SUBCLASS) != 0;
    }

    public boolean isList(MemorySegment o) {
        return (typeFlags(o) & TPFLAGS_LIST_SUBCLASS) != 0;
    }

    public boolean isBytes(MemorySegment o) {
        return (typeFlags(o) & TPFLAGS_BYTES_SUBCLASS) != 0;
    }

    /** New reference, or NULL with an exception set. {@code name} is a C string. */
    public MemorySegment getAttr(MemorySegment o, MemorySegment name) {
        try { return (MemorySegment) pyObjectGetAttrString.invokeExact(o, name); } catch (Throwable t) { throw fatal(t); }
    }

    /** Does not steal {@code value}. Returns -1 with an exception set on failure. */
    public int setAttr(MemorySegment o, MemorySegment name, MemorySegment value) {
        try { return (int) pyObjectSetAttrString.invokeExact(o, name, value); } catch (Throwable t) { throw fatal(t); }
    }

    public boolean hasAttr(MemorySegment o, MemorySegment name) {
        try { return (int) pyObjectHasAttrString.invokeExact(o, name) == 1; } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code f()}: new reference or NULL. */
    public MemorySegment call(MemorySegment f) {
        try { return (MemorySegment) pyObjectCall0.invokeExact(f, MemorySegment.NULL); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code f(a)}: new reference or NULL; arguments are borrowed. */
    public MemorySegment call(MemorySegment f, MemorySegment a) {
        try { return (MemorySegment) pyObjectCall1.invokeExact(f, a, MemorySegment.NULL); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code f(a, b)}: new reference or NULL; arguments are borrowed. */
    public MemorySegment call(MemorySegment f, MemorySegment a, MemorySegment b) {
        try { return (MemorySegment) pyObjectCall2.invokeExact(f, a, b, MemorySegment.NULL); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code f(a, b, c)}: new reference or NULL; arguments are borrowed. */
    public MemorySegment call(MemorySegment f, MemorySegment a, MemorySegment b, MemorySegment c) {
        try { return (MemorySegment) pyObjectCall3.invokeExact(f, a, b, c, MemorySegment.NULL); } catch (Throwable t) { throw fatal(t); }
    }

    /** New reference or NULL. */
    /** {@code f(*args)} for a tuple {@code args} (borrowed): new reference or NULL. */
    public MemorySegment callObject(MemorySegment f, MemorySegment args) {
        try { return (MemorySegment) pyObjectCall.invokeExact(f, args, MemorySegment.NULL); } catch (Throwable t) { throw fatal(t); }
    }

    public MemorySegment getIter(MemorySegment o) {
        try { return (MemorySegment) pyObjectGetIter.invokeExact(o); } catch (Throwable t) { throw fatal(t); }
    }

    /** New reference; NULL at the end of the iteration (no exception) or on error (exception set). */
    public MemorySegment iterNext(MemorySegment it) {
        try { return (MemorySegment) pyIterNext.invokeExact(it); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code str(o)}: new reference or NULL. */
    public MemorySegment str(MemorySegment o) {
        try { return (MemorySegment) pyObjectStr.invokeExact(o); } catch (Throwable t) { throw fatal(t); }
    }

    /** 1, 0, or -1 with an exception set. */
    public int isTrue(MemorySegment o) {
        try { return (int) pyObjectIsTrue.invokeExact(o); } catch (Throwable t) { throw fatal(t); }
    }

    public boolean isCallable(MemorySegment o) {
        try { return (int) pyCallableCheck.invokeExact(o) == 1; } catch (Throwable t) { throw fatal(t); }
    }

    // ---- strings and bytes ----------------------------------------------------------------

    /** New {@code str} from UTF-8 bytes, or NULL. */
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

    /** New reference to an interned {@code str}, or NULL. */
    public MemorySegment internFromString(MemorySegment cString) {
        try { return (MemorySegment) pyUnicodeInternFromString.invokeExact(cString); } catch (Throwable t) { throw fatal(t); }
    }

    /** New {@code bytes} copied from native memory, or NULL. */
    public MemorySegment bytesFrom(MemorySegment data, long length) {
        try { return (MemorySegment) pyBytesFromStringAndSize.invokeExact(data, length); } catch (Throwable t) { throw fatal(t); }
    }

    /**
     * Writes a borrowed pointer to the bytes' storage to {@code dataOut} and its length to
     * {@code sizeOut}. Returns -1 with a TypeError set when {@code o} is not bytes.
     */
    public int bytesAsStringAndSize(MemorySegment o, MemorySegment dataOut, MemorySegment sizeOut) {
        try { return (int) pyBytesAsStringAndSize.invokeExact(o, dataOut, sizeOut); } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code sizeof(Py_buffer)}, the same in every supported version. */
    public static final long PY_BUFFER_BYTES = 80;
    /** Offset of {@code Py_buffer.len}; {@code buf} is at 0. */
    public static final long PY_BUFFER_LEN = 16;
    /** {@code PyBUF_WRITABLE}. */
    public static final int PYBUF_WRITABLE = 0x1;

    /** Exports {@code o}'s buffer into {@code view} (80 bytes); 0, or -1 with an exception set. */
    public int getBuffer(MemorySegment o, MemorySegment view, int flags) {
        try { return (int) pyObjectGetBuffer.invokeExact(o, view, flags); } catch (Throwable t) { throw fatal(t); }
    }

    /** Releases a buffer exported by {@link #getBuffer}. */
    public void bufferRelease(MemorySegment view) {
        try { pyBufferRelease.invokeExact(view); } catch (Throwable t) { throw fatal(t); }
    }

    // ---- numbers, tuples, lists, dicts ----------------------------------------------------

    public MemorySegment longFrom(long value) {
        try { return (MemorySegment) pyLongFromLongLong.invokeExact(value); } catch (Throwable t) { throw fatal(t); }
    }

    /** -1 with an exception set on failure. */
    public long longValue(MemorySegment o) {
        try { return (long) pyLongAsLongLong.invokeExact(o); } catch (Throwable t) { throw fatal(t); }
    }

    /** New reference to {@code True} or {@code False}. */
    public MemorySegment bool(boolean value) {
        MemorySegment b = value ? pyTrue : pyFalse;
        incRef(b);
        return b;
    }

    public MemorySegment tupleNew(long size) {
        try { return (MemorySegment) pyTupleNew.invokeExact(size); } catch (Throwable t) { throw fatal(t); }
    }

    /** Steals {@code item}, even on failure. */
    public int tupleSetItem(MemorySegment tuple, long index, MemorySegment item) {
        try { return (int) pyTupleSetItem.invokeExact(tuple, index, item); } catch (Throwable t) { throw fatal(t); }
    }

    /** Borrowed, or NULL with an IndexError set. */
    public MemorySegment tupleGetItem(MemorySegment tuple, long index) {
        try { return (MemorySegment) pyTupleGetItem.invokeExact(tuple, index); } catch (Throwable t) { throw fatal(t); }
    }

    public long tupleSize(MemorySegment tuple) {
        try { return (long) pyTupleSize.invokeExact(tuple); } catch (Throwable t) { throw fatal(t); }
    }

    public MemorySegment listNew(long size) {
        try { return (MemorySegment) pyListNew.invokeExact(size); } catch (Throwable t) { throw fatal(t); }
    }

    /** Does not steal {@code item}. */
    public int listAppend(MemorySegment list, MemorySegment item) {
        try { return (int) pyListAppend.invokeExact(list, item); } catch (Throwable t) { throw fatal(t); }
    }

    public long listSize(MemorySegment list) {
        try { return (long) pyListSize.invokeExact(list); } catch (Throwable t) { throw fatal(t); }
    }

    /** Borrowed, or NULL with an IndexError set. */
    public MemorySegment listGetItem(MemorySegment list, long index) {
        try { return (MemorySegment) pyListGetItem.invokeExact(list, index); } catch (Throwable t) { throw fatal(t); }
    }

    public MemorySegment dictNew() {
        try { return (MemorySegment) pyDictNew.invokeExact(); } catch (Throwable t) { throw fatal(t); }
    }

    /** Shallow copy: new reference or NULL. */
    public MemorySegment dictCopy(MemorySegment dict) {
        try { return (MemorySegment) pyDictCopy.invokeExact(dict); } catch (Throwable t) { throw fatal(t); }
    }

    /** Does not steal key or value. Returns -1 with an exception set on failure. */
    public int dictSetItem(MemorySegment dict, MemorySegment key, MemorySegment value) {
        try { return (int) pyDictSetItem.invokeExact(dict, key, value); } catch (Throwable t) { throw fatal(t); }
    }

    /** Does not steal {@code value}. */
    public int dictSetItemString(MemorySegment dict, MemorySegment key, MemorySegment value) {
        try { return (int) pyDictSetItemString.invokeExact(dict, key, value); } catch (Throwable t) { throw fatal(t); }
    }

    /** Borrowed or NULL (no exception) when absent. */
    public MemorySegment dictGetItemString(MemorySegment dict, MemorySegment key) {
        try { return (MemorySegment) pyDictGetItemString.invokeExact(dict, key); } catch (Throwable t) { throw fatal(t); }
    }

    /** Borrowed or NULL (no exception) when absent. With an interned str key this is a hash lookup and nothing more. */
    public MemorySegment dictGetItem(MemorySegment dict, MemorySegment key) {
        try { return (MemorySegment) pyDictGetItem.invokeExact(dict, key); } catch (Throwable t) { throw fatal(t); }
    }

    // ---- modules, code, sys ---------------------------------------------------------------

    /** New reference to the module, or NULL. */
    public MemorySegment importModule(MemorySegment name) {
        try { return (MemorySegment) pyImportImportModule.invokeExact(name); } catch (Throwable t) { throw fatal(t); }
    }

    /** Executes {@code code} as module {@code name} (registered in sys.modules); new reference or NULL. */
    MemorySegment execCodeModule(MemorySegment name, MemorySegment code, MemorySegment pathname) {
        try { return (MemorySegment) pyImportExecCodeModuleEx.invokeExact(name, code, pathname); } catch (Throwable t) { throw fatal(t); }
    }

    /** Compiles module source; new code object or NULL. */
    MemorySegment compileString(MemorySegment source, MemorySegment filename, int start) {
        try { return (MemorySegment) pyCompileString.invokeExact(source, filename, start); } catch (Throwable t) { throw fatal(t); }
    }

    /** Sets {@code sys.<name>}; does not steal. */
    public int sysSetObject(MemorySegment name, MemorySegment value) {
        try { return (int) pySysSetObject.invokeExact(name, value); } catch (Throwable t) { throw fatal(t); }
    }

    /** Borrowed {@code sys.<name>}, or NULL without an exception. */
    public MemorySegment sysGetObject(MemorySegment name) {
        try { return (MemorySegment) pySysGetObject.invokeExact(name); } catch (Throwable t) { throw fatal(t); }
    }

    /** New builtin function object over a {@code PyMethodDef}, or NULL. {@code self} is borrowed. */
    MemorySegment cFunctionNew(MemorySegment methodDef, MemorySegment self) {
        try { return (MemorySegment) pyCFunctionNewEx.invokeExact(methodDef, self, MemorySegment.NULL); } catch (Throwable t) { throw fatal(t); }
    }

    // ---- errors ---------------------------------------------------------------------------

    /** Borrowed type of the pending exception, or NULL when none is set. */
    public MemorySegment errOccurred() {
        try { return (MemorySegment) pyErrOccurred.invokeExact(); } catch (Throwable t) { throw fatal(t); }
    }

    /** Moves the pending exception into the three out-pointers (new references, possibly NULL). */
    void errFetch(MemorySegment type, MemorySegment value, MemorySegment traceback) {
        try { pyErrFetch.invokeExact(type, value, traceback); } catch (Throwable t) { throw fatal(t); }
    }

    void errNormalize(MemorySegment type, MemorySegment value, MemorySegment traceback) {
        try { pyErrNormalizeException.invokeExact(type, value, traceback); } catch (Throwable t) { throw fatal(t); }
    }

    /** Sets the pending exception; steals all three (any may be NULL). */
    public void errRestore(MemorySegment type, MemorySegment value, MemorySegment traceback) {
        try { pyErrRestore.invokeExact(type, value, traceback); } catch (Throwable t) { throw fatal(t); }
    }

    public void errClear() {
        try { pyErrClear.invokeExact(); } catch (Throwable t) { throw fatal(t); }
    }

    void errSetString(MemorySegment type, MemorySegment utf8Message) {
        try { pyErrSetString.invokeExact(type, utf8Message); } catch (Throwable t) { throw fatal(t); }
    }

    boolean exceptionMatches(MemorySegment given, MemorySegment type) {
        try { return (int) pyErrGivenExceptionMatches.invokeExact(given, type) != 0; } catch (Throwable t) { throw fatal(t); }
    }

    void exceptionSetTraceback(MemorySegment exception, MemorySegment traceback) {
        try { int ignored = (int) pyExceptionSetTraceback.invokeExact(exception, traceback); } catch (Throwable t) { throw fatal(t); }
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
            errSetString(t, arena.allocateFrom(message));
        }
    }

    /** True when the (normalized) exception type is SystemExit or KeyboardInterrupt. */
    boolean isExitException(MemorySegment type) {
        return exceptionMatches(type, excSystemExit) || exceptionMatches(type, excKeyboardInterrupt);
    }
}
