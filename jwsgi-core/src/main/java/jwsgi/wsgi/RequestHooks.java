package jwsgi.wsgi;

import java.lang.foreign.MemorySegment;

/**
 * gunicorn's per-request server hooks, as a Python worker calls them: {@code pre_request}
 * after the environ is built and before the app runs, {@code post_request} once the response
 * has been handed to the client. A pool without hooks has none of this at all, so requests pay
 * nothing for the feature when the config file defines neither.
 *
 * <p>Threads: the Python worker threads; GIL: must hold.
 */
public interface RequestHooks {
    /** True when the config file defines pre_request. */
    boolean hasPreRequest();

    /** True when the config file defines post_request. */
    boolean hasPostRequest();

    /**
     * Calls {@code pre_request(worker, req)}.
     *
     * @param environ the request's environ (borrowed)
     * @return a new reference to the {@code req} object (post_request receives the same one),
     *         or NULL with the hook's Python exception set
     */
    MemorySegment preRequest(MemorySegment environ);

    /**
     * Calls {@code post_request(worker, req, environ, resp)}.
     *
     * @param req     the object preRequest returned (borrowed), or NULL to make one
     * @param environ the request's environ (borrowed)
     * @param status  the status line sent, e.g. "200 OK"
     * @param head    the app's response head, or null when it gave none (an error response)
     * @param sent    body bytes sent
     * @return false with the hook's Python exception set when it raised
     */
    boolean postRequest(MemorySegment req, MemorySegment environ, String status, ResponseHead head, long sent);
}
