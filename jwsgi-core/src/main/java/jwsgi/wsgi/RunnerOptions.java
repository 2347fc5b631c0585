package jwsgi.wsgi;

import java.util.List;

/**
 * What every {@link RequestRunner} of a pool shares.
 *
 * @param hooks             pre_request/post_request, or null when the config defines neither
 * @param loggedEnvironKeys environ keys whose values the access log shows (empty without one)
 * @param timed             whether requests are timed for the watchdog ({@code --timeout} above 0)
 * @param counter           counts answered requests for {@code --max-requests}, or null
 * @param timings           told how long each request waited, or null without metrics
 */
record RunnerOptions(RequestHooks hooks, List<String> loggedEnvironKeys, boolean timed, RequestCounter counter,
                     RequestTimings timings) {
    RunnerOptions(RequestHooks hooks, List<String> loggedEnvironKeys, boolean timed, RequestCounter counter) {
        this(hooks, loggedEnvironKeys, timed, counter, null);
    }
}
