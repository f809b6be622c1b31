/**
 * What a shard shows of a frame that was not a message (the first one it
 * received, in its report): enough to see the frame's shape, never a whole
 * payload.
 */

/** The most of a frame that is shown. */
export const FRAME_SAMPLE_BYTES = 200;

/**
 * The frame as one line of text (bytes as UTF-8, a parsed item as JSON, a
 * line break as the two characters backslash and n), cut to FRAME_SAMPLE_BYTES.
 */
export function frameSample(frame: unknown): string {
  let text: string;
  if (typeof frame === "string") text = frame;
  else if (Buffer.isBuffer(frame)) text = frame.toString("utf8");
  else if (frame === undefined) return "";
  else text = JSON.stringify(frame) ?? String(frame);
  text = text.replace(/\r?\n/g, "\\n");
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= FRAME_SAMPLE_BYTES) return text;
  return `${bytes.subarray(0, FRAME_SAMPLE_BYTES).toString("utf8")}...`;
}
