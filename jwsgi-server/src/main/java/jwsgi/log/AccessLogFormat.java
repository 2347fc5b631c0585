package jwsgi.log;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * gunicorn's {@code access_log_format}, compiled once into a list of segments, each a literal
 * or one atom with its printf conversion, so a line costs one pass and no parsing.
 *
 * <p>The format is Python's {@code %} formatting over a mapping, exactly as gunicorn applies
 * it: {@code %(name)s}, with flags, width and precision; {@code %%} for a percent sign.
 * The atoms are gunicorn's ({@code h l u t r m U q H s B b f a T D M L p}, {@code {header}i},
 * {@code {header}o}, {@code {variable}e}). As in gunicorn, an unknown atom prints {@code -},
 * double quotes inside text values are escaped as {@code \"}, and the environ atoms show the
 * environ as the app left it. Unlike gunicorn, a format Python could not apply (a lone
 * {@code %}, {@code %s} without a name, {@code %(s)d} on a text atom) is refused at start-up
 * instead of failing on every request.
 *
 * <p>Threads: any; immutable.
 */
public final class AccessLogFormat {
    /** gunicorn's default: the Apache combined format. */
    public static final String DEFAULT = "%(h)s %(l)s %(u)s %(t)s \"%(r)s\" %(s)s %(b)s \"%(f)s\" \"%(a)s\"";
    private static final DateTimeFormatter CLF_TIME =
            DateTimeFormatter.ofPattern("'['dd/MMM/yyyy:HH:mm:ss Z']'", Locale.ENGLISH);
    private static final DateTimeFormatter ISO_TIME = DateTimeFormatter.ISO_OFFSET_DATE_TIME;

    /**
     * What the access log may ask of one finished request. Each method is called only when
     * the format uses the atom that needs it.
     */
    public interface Request {
        /** A WSGI environ value as the app left it (REMOTE_ADDR, PATH_INFO...), or null when absent. */
        String environ(String key);

        /** The last value of a request header, by lower-case name, or null. */
        String requestHeader(String lowerName);

        /** The last value of a response header the app sent, by lower-case name, or null. */
        String responseHeader(String lowerName);

        int status();

        /** Body bytes sent. */
        long bodyBytes();

        /** From the end of the request head to the end of the response. */
        long durationNanos();

        /** When the response ended. */
        Instant end();
    }

    /** One atom: how to get its value and whether it is a number. */
    private enum Atom {
        REMOTE_ADDR("h", "remote_addr"), IDENT("l", "ident"), USER("u", "user"), TIME("t", "time"),
        REQUEST_LINE("r", "request"), METHOD("m", "method"), PATH("U", "path"), QUERY("q", "query"),
        PROTOCOL("H", "protocol"), STATUS("s", "status"), BYTES("B", "bytes"), BYTES_CLF("b", "bytes"),
        REFERER("f", "referer"), USER_AGENT("a", "user_agent"), SECONDS("T", "duration_s"),
        MICROS("D", "duration_us"), MILLIS("M", "duration_ms"), DECIMAL_SECONDS("L", "duration"), PID("p", "pid"),
        REQUEST_HEADER(null, "request_headers"), RESPONSE_HEADER(null, "response_headers"), ENVIRON(null, "environ"),
        /** A name gunicorn does not know: always "-". */
        UNKNOWN(null, null);

        final String code;
        final String jsonName;

        Atom(String code, String jsonName) {
            this.code = code;
            this.jsonName = jsonName;
        }

        /** gunicorn gives these as Python ints; all others are str. */
        boolean numeric() {
            return this == BYTES || this == SECONDS || this == MICROS || this == MILLIS;
        }

        static Atom of(String key) {
            if (key.startsWith("{")) {
                String k = key.toLowerCase(Locale.ROOT);
                if (k.length() > 3 && k.charAt(k.length() - 2) == '}') {
                    return switch (k.charAt(k.length() - 1)) {
                        case 'i' -> REQUEST_HEADER;
                        case 'o' -> RESPONSE_HEADER;
                        case 'e' -> ENVIRON;
                        default -> UNKNOWN;
                    };
                }
                return UNKNOWN;
            }
            for (Atom a : values()) {
                if (key.equals(a.code)) return a;
            }
            return UNKNOWN;
        }
    }

    /**
     * A literal (atom null) or a conversion {@code %(key)[flags][width][.precision]type}.
     *
     * @param name for {i}/{o}/{e} atoms, the lower-case header or variable name
     */
    private record Segment(String literal, Atom atom, String key, String name, boolean leftAlign, boolean zeroPad,
                           String sign, int width, int precision, char type) {
        /** A %d conversion. */
        boolean numeric() {
            return type == 'd' || type == 'i' || type == 'u';
        }
    }

    private final List<Segment> segments;
    private final Set<String> environKeys;
    private final String pid = "<" + ProcessHandle.current().pid() + ">";
    private final ZoneId zone = ZoneId.systemDefault();
    /** The formatted 't' of the last second a line was written in: formatting a date costs more than the rest of a line. */
    private volatile CachedTime cachedTime = new CachedTime(Long.MIN_VALUE, "");

    private record CachedTime(long epochSecond, String text) {}

    private AccessLogFormat(List<Segment> segments) {
        this.segments = List.copyOf(segments);
        Set<String> keys = new LinkedHashSet<>();
        for (Segment s : segments) {
            if (s.atom() == null) continue;
            switch (s.atom()) {
                case REMOTE_ADDR -> keys.add("REMOTE_ADDR");
                case USER -> keys.add("HTTP_AUTHORIZATION");
                case REQUEST_LINE -> keys.addAll(List.of("REQUEST_METHOD", "RAW_URI", "SERVER_PROTOCOL"));
                case METHOD -> keys.add("REQUEST_METHOD");
                case PATH -> keys.add("PATH_INFO");
                case QUERY -> keys.add("QUERY_STRING");
                case PROTOCOL -> keys.add("SERVER_PROTOCOL");
                case REFERER -> keys.add("HTTP_REFERER");
                case USER_AGENT -> keys.add("HTTP_USER_AGENT");
                case ENVIRON -> {
                    keys.add(s.name().toUpperCase(Locale.ROOT));
                    keys.add(s.name());
                }
                default -> { }
            }
        }
        this.environKeys = Set.copyOf(keys);
    }

    /**
     * Compiles a gunicorn access log format.
     *
     * @throws IllegalArgumentException naming the part Python could not apply and why
     */
    public static AccessLogFormat compile(String format) {
        List<Segment> segments = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        int i = 0;
        while (i < format.length()) {
            char c = format.charAt(i);
            if (c != '%') {
                literal.append(c);
                i++;
                continue;
            }
            if (i + 1 < format.length() && format.charAt(i + 1) == '%') {
                literal.append('%');
                i += 2;
                continue;
            }
            int start = i;
            if (i + 1 >= format.length() || format.charAt(i + 1) != '(') {
                throw new IllegalArgumentException(bad(format, start, "a '%' must start %(name)s, or be doubled as %% for a percent sign"));
            }
            // Python lets the key hold balanced parentheses.
            int depth = 1;
            int j = i + 2;
            while (j < format.length() && depth > 0) {
                char k = format.charAt(j);
                if (k == '(') depth++;
                else if (k == ')') depth--;
                j++;
            }
            if (depth > 0) throw new IllegalArgumentException(bad(format, start, "the '(' is never closed"));
            String key = format.substring(i + 2, j - 1);
            boolean left = false;
            boolean zero = false;
            String sign = "";
            while (j < format.length() && "-+ #0".indexOf(format.charAt(j)) >= 0) {
                switch (format.charAt(j)) {
                    case '-' -> left = true;
                    case '0' -> zero = true;
                    case '+' -> sign = "+";
                    case ' ' -> sign = sign.isEmpty() ? " " : sign;
                    default -> { }
                }
                j++;
            }
            int width = 0;
            while (j < format.length() && Character.isDigit(format.charAt(j))) width = width * 10 + (format.charAt(j++) - '0');
            int precision = -1;
            if (j < format.length() && format.charAt(j) == '.') {
                j++;
                precision = 0;
                while (j < format.length() && Character.isDigit(format.charAt(j))) precision = precision * 10 + (format.charAt(j++) - '0');
            }
            if (j < format.length() && format.charAt(j) == '*') {
                throw new IllegalArgumentException(bad(format, start, "'*' widths need positional arguments, which gunicorn does not pass"));
            }
            while (j < format.length() && "hlL".indexOf(format.charAt(j)) >= 0) j++;
            if (j >= format.length()) throw new IllegalArgumentException(bad(format, start, "the conversion ends without a type such as 's'"));
            char type = format.charAt(j);
            Atom atom = Atom.of(key);
            switch (type) {
                case 's', 'r', 'a' -> { }
                case 'd', 'i', 'u' -> {
                    if (!atom.numeric() && atom != Atom.STATUS) {
                        throw new IllegalArgumentException(bad(format, start, "%(" + key + ")" + type + " needs a number, and atom '"
                                + key + "' is text; use %(" + key + ")s"));
                    }
                }
                default -> throw new IllegalArgumentException(bad(format, start,
                        "conversion '" + type + "' is not supported; use s, r, d or i"));
            }
            if (!literal.isEmpty()) {
                segments.add(new Segment(literal.toString(), null, null, null, false, false, "", 0, -1, 's'));
                literal.setLength(0);
            }
            String name = key.length() > 3 && key.startsWith("{") ? key.substring(1, key.length() - 2).toLowerCase(Locale.ROOT) : null;
            segments.add(new Segment(null, atom, key, name, left, zero, sign, width, precision, type));
            i = j + 1;
        }
        if (!literal.isEmpty()) segments.add(new Segment(literal.toString(), null, null, null, false, false, "", 0, -1, 's'));
        return new AccessLogFormat(segments);
    }

    private static String bad(String format, int at, String why) {
        int end = Math.min(format.length(), at + 12);
        return "access log format: at \"" + format.substring(at, end) + "\": " + why;
    }

    /** The environ keys the format shows, to be read once the app has run (both spellings for {@code {var}e}). */
    public Set<String> environKeys() {
        return environKeys;
    }

    /** The line gunicorn would write for this request (without the newline). */
    public String format(Request r) {
        StringBuilder out = new StringBuilder(160);
        for (Segment s : segments) {
            if (s.atom() == null) {
                out.append(s.literal());
                continue;
            }
            if (s.numeric()) {
                appendNumber(out, s, number(s.atom(), r));
            } else if (s.atom().numeric()) {
                appendText(out, s, Long.toString(number(s.atom(), r)), true);
            } else {
                appendText(out, s, escape(text(s, r)), false);
            }
        }
        return out.toString();
    }

    /**
     * The request as one JSON object, with a member for each atom in the format (missing
     * values are null, numbers are numbers, the time is ISO 8601).
     */
    public String json(Request r) {
        StringBuilder out = new StringBuilder(256).append('{');
        Set<String> done = new LinkedHashSet<>();
        StringBuilder req = new StringBuilder();
        StringBuilder resp = new StringBuilder();
        StringBuilder env = new StringBuilder();
        for (Segment s : segments) {
            Atom a = s.atom();
            if (a == null || a == Atom.UNKNOWN) continue;
            switch (a) {
                case REQUEST_HEADER -> member(req, s.name(), r.requestHeader(s.name()));
                case RESPONSE_HEADER -> member(resp, s.name(), r.responseHeader(s.name()));
                case ENVIRON -> member(env, s.name(), environVariable(r, s.name()));
                default -> {
                    if (!done.add(a.jsonName)) continue;
                    if (out.length() > 1) out.append(',');
                    Json.string(out, a.jsonName).append(':');
                    switch (a) {
                        case STATUS, BYTES, BYTES_CLF, SECONDS, MICROS, MILLIS -> out.append(number(a, r));
                        case DECIMAL_SECONDS -> out.append(decimalSeconds(r.durationNanos()));
                        case PID -> out.append(ProcessHandle.current().pid());
                        case TIME -> Json.string(out, ISO_TIME.format(ZonedDateTime.ofInstant(r.end(), zone)));
                        default -> {
                            String v = text(s, r);
                            if (v == null || (v.equals("-") && a != Atom.IDENT)) out.append("null");
                            else Json.string(out, v);
                        }
                    }
                }
            }
        }
        object(out, "request_headers", req);
        object(out, "response_headers", resp);
        object(out, "environ", env);
        return out.append('}').toString();
    }

    private static void member(StringBuilder group, String name, String value) {
        if (!group.isEmpty()) group.append(',');
        Json.string(group, name).append(':');
        if (value == null) group.append("null");
        else Json.string(group, value);
    }

    private static void object(StringBuilder out, String name, StringBuilder members) {
        if (members.isEmpty()) return;
        if (out.length() > 1) out.append(',');
        Json.string(out, name).append(":{").append(members).append('}');
    }

    private long number(Atom a, Request r) {
        long nanos = r.durationNanos();
        return switch (a) {
            case STATUS -> r.status();
            case BYTES, BYTES_CLF -> r.bodyBytes();
            case SECONDS -> nanos / 1_000_000_000L;
            case MICROS -> nanos / 1_000L;
            case MILLIS -> nanos / 1_000_000L;
            default -> throw new IllegalStateException(a.name());
        };
    }

    /** A text atom's value before escaping; "-" where gunicorn has no value. */
    private String text(Segment s, Request r) {
        return switch (s.atom()) {
            case REMOTE_ADDR -> orDash(r.environ("REMOTE_ADDR"));
            case IDENT, UNKNOWN -> "-";
            case USER -> orDash(basicUser(r.environ("HTTP_AUTHORIZATION")));
            case TIME -> time(r.end());
            case REQUEST_LINE -> r.environ("REQUEST_METHOD") + " " + r.environ("RAW_URI") + " " + r.environ("SERVER_PROTOCOL");
            case METHOD -> String.valueOf(r.environ("REQUEST_METHOD"));
            case PATH -> String.valueOf(r.environ("PATH_INFO"));
            case QUERY -> String.valueOf(r.environ("QUERY_STRING"));
            case PROTOCOL -> String.valueOf(r.environ("SERVER_PROTOCOL"));
            case STATUS -> Integer.toString(r.status());
            case BYTES_CLF -> Long.toString(r.bodyBytes());
            case REFERER -> orDash(r.environ("HTTP_REFERER"));
            case USER_AGENT -> orDash(r.environ("HTTP_USER_AGENT"));
            case DECIMAL_SECONDS -> decimalSeconds(r.durationNanos());
            case PID -> pid;
            case REQUEST_HEADER -> orDash(r.requestHeader(s.name()));
            case RESPONSE_HEADER -> orDash(r.responseHeader(s.name()));
            case ENVIRON -> orDash(environVariable(r, s.name()));
            case BYTES, SECONDS, MICROS, MILLIS -> Long.toString(number(s.atom(), r));
        };
    }

    /** gunicorn lower-cases environ keys; find the variable as the app most likely spelled it. */
    private static String environVariable(Request r, String lowerName) {
        String v = r.environ(lowerName.toUpperCase(Locale.ROOT));
        return v != null ? v : r.environ(lowerName);
    }

    private String time(Instant end) {
        CachedTime cached = cachedTime;
        long second = end.getEpochSecond();
        if (cached.epochSecond() != second) {
            cached = new CachedTime(second, CLF_TIME.format(ZonedDateTime.ofInstant(end, zone)));
            cachedTime = cached;
        }
        return cached.text();
    }

    private static String decimalSeconds(long nanos) {
        long micros = nanos / 1_000L;
        String frac = Long.toString(1_000_000L + micros % 1_000_000L).substring(1);
        return (micros / 1_000_000L) + "." + frac;
    }

    private static String orDash(String s) {
        return s == null ? "-" : s;
    }

    /** gunicorn's SafeAtoms: '"' in text values becomes '\"'. */
    private static String escape(String s) {
        return s.indexOf('"') < 0 ? s : s.replace("\"", "\\\"");
    }

    private static void appendText(StringBuilder out, Segment s, String value, boolean isNumber) {
        String v = !isNumber && (s.type() == 'r' || s.type() == 'a') ? pythonRepr(value, s.type() == 'a') : value;
        if (s.precision() >= 0 && v.length() > s.precision()) v = v.substring(0, s.precision());
        pad(out, v, s.width(), s.leftAlign(), ' ');
    }

    private static void appendNumber(StringBuilder out, Segment s, long value) {
        String digits = Long.toString(Math.abs(value));
        if (s.precision() > digits.length()) digits = "0".repeat(s.precision() - digits.length()) + digits;
        String sign = value < 0 ? "-" : s.sign();
        if (s.zeroPad() && !s.leftAlign() && s.width() > sign.length() + digits.length()) {
            digits = "0".repeat(s.width() - sign.length() - digits.length()) + digits;
        }
        pad(out, sign + digits, s.width(), s.leftAlign(), ' ');
    }

    private static void pad(StringBuilder out, String v, int width, boolean left, char fill) {
        int missing = width - v.length();
        if (missing > 0 && !left) out.append(String.valueOf(fill).repeat(missing));
        out.append(v);
        if (missing > 0 && left) out.append(String.valueOf(fill).repeat(missing));
    }

    /** Python's repr() of a str (ascii() when {@code ascii}), as %r and %a print it. */
    private static String pythonRepr(String s, boolean ascii) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder b = new StringBuilder(s.length() + 2).append(quote);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == quote || c == '\\') b.append('\\').append(c);
            else if (c == '\n') b.append("\\n");
            else if (c == '\r') b.append("\\r");
            else if (c == '\t') b.append("\\t");
            else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || (ascii && c >= 0x80 && c <= 0xff)) {
                b.append(String.format("\\x%02x", (int) c));
            } else if (ascii && c > 0xff) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append(quote).toString();
    }

    /** The user of HTTP Basic credentials, decoded as gunicorn does; null when there is none. */
    static String basicUser(String authorization) {
        if (authorization == null || !authorization.toLowerCase(Locale.ROOT).startsWith("basic")) return null;
        int space = authorization.indexOf(' ');
        if (space < 0) return null;
        try {
            byte[] raw = Base64.getMimeDecoder().decode(authorization.substring(space + 1).strip());
            String decoded = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(raw)).toString();
            int colon = decoded.indexOf(':');
            return colon < 0 ? null : decoded.substring(0, colon);
        } catch (IllegalArgumentException | java.nio.charset.CharacterCodingException e) {
            return null;
        }
    }
}
