package jwsgi.frontend;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The kernel's TCP table (/proc/net/tcp): which connections a local port has open. */
final class TcpTable {
    private static final String ESTABLISHED = "01";

    private TcpTable() {}

    /** The remote ports of the established connections to local port {@code port}. */
    static Set<Integer> peersOf(int port) {
        Set<Integer> peers = new HashSet<>();
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            List<String> lines;
            try {
                lines = Files.readAllLines(Path.of(table));
            } catch (IOException e) {
                continue;
            }
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.trim().split("\\s+");
                int local = Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16);
                if (local == port && f[3].equals(ESTABLISHED)) peers.add(Integer.parseInt(f[2].substring(f[2].indexOf(':') + 1), 16));
            }
        }
        return peers;
    }
}
