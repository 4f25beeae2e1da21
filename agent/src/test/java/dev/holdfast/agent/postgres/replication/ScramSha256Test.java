package dev.holdfast.agent.postgres.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import org.junit.jupiter.api.Test;

/** RFC 7677 section 3's example exchange, and the ways a server can fail it. */
class ScramSha256Test {
    private static final String NONCE = "rOprNGfwEbeRWgbNEkqO";
    private static final String SERVER_FIRST = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    private static final String CLIENT_FINAL = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            + "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    private static final String SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    @Test
    void rfc7677ExampleProducesTheSameMessagesAndVerifiesTheServer() {
        ScramSha256 scram = new ScramSha256("user", "pencil", NONCE);
        assertEquals("n,,n=user,r=rOprNGfwEbeRWgbNEkqO", scram.clientFirstMessage());
        assertEquals(CLIENT_FINAL, scram.clientFinalMessage(SERVER_FIRST));
        assertFalse(scram.serverVerified());
        scram.verifyServerFinal(SERVER_FINAL);
        assertTrue(scram.serverVerified());
    }

    @Test
    void aWrongServerSignatureFailsClosed() {
        ScramSha256 scram = new ScramSha256("user", "pencil", NONCE);
        scram.clientFinalMessage(SERVER_FIRST);
        String flipped = "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
        HoldfastException e = assertThrows(HoldfastException.class, () -> scram.verifyServerFinal(flipped));
        assertEquals(ErrorCode.SOURCE_AUTH_FAILED, e.code());
        assertFalse(scram.serverVerified());
        assertFalse(e.getMessage().contains("pencil"));
    }

    @Test
    void aServerSignatureForAnotherPasswordFailsClosed() {
        ScramSha256 scram = new ScramSha256("user", "pencil2", NONCE);
        scram.clientFinalMessage(SERVER_FIRST);
        assertThrows(HoldfastException.class, () -> scram.verifyServerFinal(SERVER_FINAL));
        assertFalse(scram.serverVerified());
    }

    @Test
    void aServerErrorOrMalformedFinalMessageFails() {
        ScramSha256 scram = new ScramSha256("user", "pencil", NONCE);
        scram.clientFinalMessage(SERVER_FIRST);
        assertEquals(ErrorCode.SOURCE_AUTH_FAILED,
                assertThrows(HoldfastException.class, () -> scram.verifyServerFinal("e=invalid-proof")).code());
        assertThrows(HoldfastException.class, () -> scram.verifyServerFinal("x=abc"));
        assertThrows(HoldfastException.class, () -> scram.verifyServerFinal("v=!!!"));
    }

    @Test
    void aServerFinalBeforeTheProofIsRefused() {
        ScramSha256 scram = new ScramSha256("user", "pencil", NONCE);
        assertThrows(HoldfastException.class, () -> scram.verifyServerFinal(SERVER_FINAL));
    }

    @Test
    void aServerNonceThatDoesNotExtendOursIsRefused() {
        ScramSha256 scram = new ScramSha256("user", "pencil", NONCE);
        assertThrows(HoldfastException.class, () -> scram.clientFinalMessage("r=somethingElse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));
        ScramSha256 same = new ScramSha256("user", "pencil", NONCE);
        assertThrows(HoldfastException.class, () -> same.clientFinalMessage("r=" + NONCE + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));
    }

    @Test
    void aMandatoryExtensionOrMissingAttributeIsRefused() {
        assertThrows(HoldfastException.class,
                () -> new ScramSha256("user", "pencil", NONCE).clientFinalMessage("m=ext," + SERVER_FIRST));
        assertThrows(HoldfastException.class,
                () -> new ScramSha256("user", "pencil", NONCE).clientFinalMessage("r=" + NONCE + "abc,i=4096"));
    }

    @Test
    void userNamesAreEscaped() {
        assertEquals("n,,n=a=3Db=2Cc,r=xyz", new ScramSha256("a=b,c", "p", "xyz").clientFirstMessage());
    }

    @Test
    void saslPrepLeavesAsciiAloneAndMapsNonAsciiSpaces() {
        assertEquals("pencil \t", ScramSha256.saslPrep("pencil \t"));
        assertEquals("a b", ScramSha256.saslPrep("a\u00A0b"));
        assertEquals("ab", ScramSha256.saslPrep("a\u00ADb"));
        assertEquals("IX", ScramSha256.saslPrep("\u2168")); // NFKC
        assertEquals("a\u0007\u00E9", ScramSha256.saslPrep("a\u0007\u00E9")); // prohibited: used unchanged
    }
}
