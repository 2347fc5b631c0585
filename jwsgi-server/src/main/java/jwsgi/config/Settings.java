package jwsgi.config;

import java.util.List;
import java.util.Map;

/**
 * The effective settings of one server run, with gunicorn's names and meanings, one record
 * per group of flags.
 *
 * @param app       the WSGI app spec ({@code module:callable}), or null for the bundled demo
 * @param config    where the settings came from
 * @param socket    where to listen
 * @param worker    how requests are run
 * @param python    which Python, and how to prepare it
 * @param logging   the error and access logs
 * @param listener  what the listeners speak (protocol, HTTP versions, Unix socket mode)
 * @param proxy     which front ends are believed about the client, and where the app is mounted
 * @param tls       TLS on the listeners
 * @param process   who the process runs as, and its pid file
 * @param limits    what a request may be and how long it may take to arrive
 * @param statics   the directories served as static files, without the app
 * @param ops       the metrics listener and the control socket
 * @param argv      the command line, for {@code sys.argv}
 * @param effective every setting by gunicorn's name (jwsgi's own by their flag's name), sorted,
 *                  with its typed value: what --print-config shows and hooks see as {@code cfg}
 */
public record Settings(
        String app,
        ConfigOptions.Settings config,
        SocketOptions.Settings socket,
        WorkerOptions.Settings worker,
        PythonOptions.Settings python,
        LoggingOptions.Settings logging,
        ListenerOptions.Settings listener,
        ProxyOptions.Settings proxy,
        TlsOptions.Settings tls,
        ProcessOptions.Settings process,
        LimitOptions.Settings limits,
        StaticOptions.Settings statics,
        OpsOptions.Settings ops,
        List<String> argv,
        Map<String, Object> effective) {
}
