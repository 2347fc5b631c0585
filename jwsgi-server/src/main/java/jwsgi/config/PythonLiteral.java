package jwsgi.config;

import java.util.Collection;
import java.util.Map;

/**
 * Java setting values written as Python literals ({@code ast.literal_eval} reads them back):
 * how the hooks' {@code cfg} object receives the settings, and how --print-config shows them.
 */
public final class PythonLiteral {
    private PythonLiteral() {}

    /** The literal for a String, number, Boolean, null, Collection or Map of them. */
    public static String of(Object value) {
        StringBuilder out = new StringBuilder();
        write(out, value);
        return out.toString();
    }

    /** What Python's str() prints: strings bare, everything else as a literal (gunicorn's --print-config). */
    public static String str(Object value) {
        return value instanceof String s ? s : of(value);
    }

    private static void write(StringBuilder out, Object value) {
        switch (value) {
            case null -> out.append("None");
            case Boolean b -> out.append(b ? "True" : "False");
            case Number n -> out.append(n);
            case String s -> string(out, s);
            case Collection<?> c -> {
                out.append('[');
                boolean first = true;
                for (Object o : c) {
                    if (!first) out.append(", ");
                    write(out, o);
                    first = false;
                }
                out.append(']');
            }
            case Map<?, ?> m -> {
                out.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!first) out.append(", ");
                    write(out, e.getKey());
                    out.append(": ");
                    write(out, e.getValue());
                    first = false;
                }
                out.append('}');
            }
            default -> string(out, value.toString());
        }
    }

    /** Python's repr() of a str. */
    private static void string(StringBuilder out, String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        out.append(quote);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == quote || c == '\\') out.append('\\').append(c);
            else if (c == '\n') out.append("\\n");
            else if (c == '\r') out.append("\\r");
            else if (c == '\t') out.append("\\t");
            else if (c < 0x20 || c == 0x7f) out.append(String.format("\\x%02x", (int) c));
            else out.append(c);
        }
        out.append(quote);
    }
}
