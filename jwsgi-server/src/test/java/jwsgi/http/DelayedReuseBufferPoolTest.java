package jwsgi.http;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

import org.eclipse.jetty.io.RetainableByteBuffer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("fast")
class DelayedReuseBufferPoolTest {
    /** More hand-outs than the pool delays (256), so the first ones are due again. */
    private static final int MANY = 400;

    @Test
    void aReleasedSmallBufferIsNotHandedOutAgainBeforeManyOthersAreReleased() {
        DelayedReuseBufferPool pool = new DelayedReuseBufferPool();
        RetainableByteBuffer first = pool.acquire(8192, true);
        ByteBuffer firstStorage = first.getByteBuffer();
        first.release();
        int others = 0;
        while (true) {
            RetainableByteBuffer next = pool.acquire(8192, true);
            boolean again = next.getByteBuffer() == firstStorage;
            next.release();
            if (again) break;
            assertTrue(++others < MANY, "the buffer never came back");
        }
        assertTrue(others >= 256, "buffer handed out again after only " + others + " others");
    }

    @Test
    void dueBuffersAreReusedEmptyAndLargeEnough() {
        DelayedReuseBufferPool pool = new DelayedReuseBufferPool();
        Set<ByteBuffer> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        int reused = 0;
        for (int i = 0; i < MANY; i++) {
            RetainableByteBuffer b = pool.acquire(4096, false);
            assertTrue(b.capacity() >= 4096);
            assertEquals(0, b.remaining(), "a handed-out buffer starts empty");
            if (!seen.add(b.getByteBuffer())) reused++;
            b.getByteBuffer().limit(10);  // dirty it, as a user would
            b.release();
        }
        assertTrue(reused > 0, "no buffer came back after the delay");
        assertTrue(seen.size() <= 300, "buffers are not reused: " + seen.size() + " allocated");
    }

    @Test
    void aSecondReleaseOfOneHandOutFailsInsteadOfPoolingItTwice() {
        DelayedReuseBufferPool pool = new DelayedReuseBufferPool();
        RetainableByteBuffer b = pool.acquire(8192, true);
        b.release();
        assertThrows(IllegalStateException.class, b::release);
    }

    @Test
    void largeBuffersGoBackToJettyAtOnce() {
        DelayedReuseBufferPool pool = new DelayedReuseBufferPool();
        List<ByteBuffer> storages = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            RetainableByteBuffer b = pool.acquire(64 * 1024, true);
            storages.add(b.getByteBuffer());
            b.release();
        }
        assertTrue(storages.stream().allMatch(s -> s == storages.get(0)), "a large buffer waited before reuse");
    }
}
