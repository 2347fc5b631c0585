package jwsgi.config;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a string into words as a POSIX shell does (Python's {@code shlex.split}, which gunicorn
 * uses for {@code GUNICORN_CMD_ARGS}): whitespace separates words, single quotes keep text
 * literally, double quotes keep it except for backslash escapes of {@code \ " $ `}, and a
 * backslash outside quotes escapes the next character.
 */
public final class Shlex {
    private Shlex() {}

    /** @throws IllegalArgumentException on an unclosed quote or a trailing backslash */
    public static List<String> split(String s) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isWhitespace(c)) {
                if (inWord) {
                    words.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                }
            } else if (c == '\'') {
                int end = s.indexOf('\'', i + 1);
                if (end < 0) throw new IllegalArgumentException("no closing quotation (') in: " + s);
                word.append(s, i + 1, end);
                i = end;
                inWord = true;
            } else if (c == '"') {
                int j = i + 1;
                for (; j < s.length() && s.charAt(j) != '"'; j++) {
                    char d = s.charAt(j);
                    if (d == '\\' && j + 1 < s.length() && "\\\"$`".indexOf(s.charAt(j + 1)) >= 0) {
                        word.append(s.charAt(++j));
                    } else {
                        word.append(d);
                    }
                }
                if (j >= s.length()) throw new IllegalArgumentException("no closing quotation (\") in: " + s);
                i = j;
                inWord = true;
            } else if (c == '\\') {
                if (i + 1 >= s.length()) throw new IllegalArgumentException("no escaped character after the final '\\' in: " + s);
                word.append(s.charAt(++i));
                inWord = true;
            } else {
                word.append(c);
                inWord = true;
            }
        }
        if (inWord) words.add(word.toString());
        return words;
    }
}
