package dev.holdfast.error;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** docs/errors.md is the contract: every code is listed there with its exit and HTTP status. */
class ErrorCodeDocumentationTest {
    @Test
    void everyCodeIsDocumentedWithItsStatuses() throws Exception {
        String doc = Files.readString(Path.of("..", "docs", "errors.md"));
        for (ErrorCode c : ErrorCode.values()) {
            String row = "| `" + c.code() + "` | " + c.exitStatus() + " | " + c.httpStatus() + " |";
            assertTrue(doc.contains(row), () -> "docs/errors.md lacks the row " + row);
        }
    }

    @Test
    void exitStatusesAreUniqueAndBelow126() {
        Set<Integer> seen = new HashSet<>();
        for (ErrorCode c : ErrorCode.values()) {
            assertTrue(c.exitStatus() > 0 && c.exitStatus() < 126, c::name);
            assertTrue(seen.add(c.exitStatus()), () -> "duplicate exit status " + c.exitStatus());
        }
        assertEquals("object_not_found", ErrorCode.OBJECT_NOT_FOUND.code());
    }
}
