package dev.holdfast.controller.catalog;

/**
 * A contiguous run of WAL segments in the repository. @param source @param systemId
 * @param timeline @param firstSegment first segment's 24-hex name @param lastSegment last one's
 * @param segments how many segments (a partial counts as one)
 */
public record WalRangeRecord(String source, String systemId, long timeline, String firstSegment, String lastSegment,
                             long segments) {
}
