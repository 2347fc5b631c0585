package jwsgi.server;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The workers' connection table, through two mappings of one region as a master and a worker
 * see it: what one writes the other reads, entries are claimed once, and a release frees only
 * the entry of the pid it names.
 */
@Tag("fast")
class ConnectionTableTest {
    @Test
    void aWorkersCountIsSeenThroughTheOtherMapping() throws Exception {
        ConnectionTable master = ConnectionTable.create();
        ConnectionTable worker = ConnectionTable.inherit(master.fd());
        int first = worker.claim(101, 0);
        assertEquals(-1, master.fewestBesides(first), "no other worker yet");
        int second = master.claim(102, 5);
        assertEquals(5, worker.fewestBesides(first));
        worker.publish(second, 102, () -> 3);
        assertEquals(3, master.fewestBesides(first));
        assertEquals(0, master.fewestBesides(second));
    }

    @Test
    void aReleaseFreesOnlyThatPidsEntryAndAStalePublishChangesNothing() throws Exception {
        ConnectionTable table = ConnectionTable.create();
        int a = table.claim(201, 7);
        int b = table.claim(202, 2);
        table.release(202);
        assertEquals(-1, table.fewestBesides(a), "the released entry no longer counts");
        int c = table.claim(203, 9);
        assertEquals(b, c, "a freed entry is claimed again");
        table.publish(c, 202, () -> 0);
        assertEquals(9, table.fewestBesides(a), "202 no longer holds the entry: its late publish is ignored");
    }

    @Test
    void aFullTableRefusesAnotherClaim() throws Exception {
        ConnectionTable table = ConnectionTable.create();
        for (int pid = 1; pid <= ConnectionTable.ENTRIES; pid++) assertEquals(pid - 1, table.claim(pid, 0));
        assertEquals(-1, table.claim(ConnectionTable.ENTRIES + 1, 0));
    }
}
