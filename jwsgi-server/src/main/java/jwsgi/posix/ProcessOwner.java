package jwsgi.posix;

import java.util.Optional;

/**
 * The user and group the server process runs as once its listeners are open (gunicorn's
 * {@code user}, {@code group} and {@code initgroups}): started as root to bind port 80, it
 * drops to an unprivileged account before any app code is imported.
 *
 * <p>Unlike gunicorn, a user given without a group runs with that user's primary group, not
 * root's: keeping gid 0 after dropping uid 0 is never what an operator means.
 *
 * @param user       the account name, when known (needed for {@code initgroups})
 * @param uid        the user id to run as
 * @param gid        the group id to run as
 * @param initgroups give the process every supplementary group of {@code user}, instead of none
 */
public record ProcessOwner(String user, int uid, int gid, boolean initgroups) {

    /**
     * Resolves gunicorn-style values (a name or a number) against the system's databases.
     *
     * @param user  a user name or uid, or null to keep the current user
     * @param group a group name or gid, or null for the user's primary group (or the current group)
     * @return the owner, or empty when neither is given
     * @throws IllegalArgumentException naming the value that does not exist
     */
    public static Optional<ProcessOwner> resolve(String user, String group, boolean initgroups) {
        if (user == null && group == null) return Optional.empty();
        try {
            Libc.User account = null;
            int uid = Libc.geteuid();
            if (user != null) {
                if (isNumber(user)) {
                    uid = Integer.parseInt(user);
                    account = Libc.userById(uid).orElse(null);
                } else {
                    account = Libc.userByName(user).orElseThrow(() ->
                            new IllegalArgumentException("--user " + user + ": no such user (check /etc/passwd or `id " + user + "`)"));
                    uid = account.uid();
                }
            }
            int gid;
            if (group != null) {
                if (isNumber(group)) {
                    gid = Integer.parseInt(group);
                } else {
                    gid = Libc.groupByName(group).orElseThrow(() ->
                            new IllegalArgumentException("--group " + group + ": no such group (check /etc/group or `getent group " + group + "`)"));
                }
            } else {
                gid = account != null ? account.gid() : Libc.getgid();
            }
            String name = account != null ? account.name() : Libc.userById(uid).map(Libc.User::name).orElse(null);
            if (initgroups && name == null) {
                throw new IllegalArgumentException("--initgroups: uid " + uid + " has no entry in the user database, so it has no groups to load");
            }
            return Optional.of(new ProcessOwner(name, uid, gid, initgroups));
        } catch (Libc.Failure e) {
            throw new IllegalArgumentException("cannot look up --user/--group: " + e.getMessage(), e);
        }
    }

    private static boolean isNumber(String s) {
        return !s.isEmpty() && s.chars().allMatch(Character::isDigit);
    }

    /** True when the process does not already run as this owner. */
    public boolean differsFromCurrent() {
        return uid != Libc.getuid() || gid != Libc.getgid();
    }

    /**
     * Switches the whole process (every thread) to this owner: supplementary groups, then the
     * group, then the user, the only order in which each step is still permitted.
     *
     * @throws IllegalStateException with the reason, when the process may not switch (not root)
     */
    public void apply() {
        if (!differsFromCurrent()) return;
        if (Libc.geteuid() != 0) {
            throw new IllegalStateException("switching to " + describe() + " needs root, and jwsgi runs as uid "
                    + Libc.geteuid() + "; start it as root, or drop --user/--group");
        }
        try {
            if (initgroups) Libc.initgroups(user, gid);
            else Libc.setgroups();
            if (gid != Libc.getgid()) Libc.setgid(gid);
            if (uid != Libc.getuid()) Libc.setuid(uid);
        } catch (Libc.Failure e) {
            throw new IllegalStateException("cannot switch to " + describe() + ": " + e.getMessage(), e);
        }
    }

    /** "user www-data (uid 33, gid 33)". */
    public String describe() {
        return "user " + (user != null ? user : "#" + uid) + " (uid " + uid + ", gid " + gid + ")";
    }
}
