package jwsgi.config;

import java.util.Collection;
import java.util.Locale;
import java.util.Optional;

/** "Did you mean ...?": the closest of a set of valid words to a mistyped one. */
public final class Suggest {
    private Suggest() {}

    /**
     * The candidate closest to {@code input} by edit distance (ignoring case and the difference
     * between '-' and '_'), when it is close enough to be a plausible typo, or starts with it.
     */
    public static Optional<String> closest(String input, Collection<String> candidates) {
        String in = normalise(input);
        if (in.isEmpty()) return Optional.empty();
        int allowed = Math.max(1, Math.min(3, in.length() / 3));
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String c : candidates) {
            String n = normalise(c);
            int d = distance(in, n);
            // A truncated word ("--work") is a plausible typo too, but a closer spelling wins.
            if (d > allowed && in.length() >= 3 && n.startsWith(in)) d = allowed;
            if (d < bestDistance) {
                bestDistance = d;
                best = c;
            }
        }
        return bestDistance <= allowed ? Optional.of(best) : Optional.empty();
    }

    /** " (did you mean 'x'?)" or "". */
    public static String hint(String input, Collection<String> candidates) {
        return closest(input, candidates).map(c -> "; did you mean '" + c + "'?").orElse("");
    }

    private static String normalise(String s) {
        String t = s.toLowerCase(Locale.ROOT).replace('_', '-');
        int i = 0;
        while (i < t.length() && t.charAt(i) == '-') i++;
        return t.substring(i);
    }

    /** Damerau-Levenshtein distance (adjacent transpositions count as one edit). */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) d[i][0] = i;
        for (int j = 0; j <= b.length(); j++) d[0][j] = j;
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
