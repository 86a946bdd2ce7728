/*===- g4tok.h - g4c runtime tokenizer C API ---------------------*- C -*-===*\
|*                                                                          *|
|* Part of g4c. Encoding text to token ids and decoding ids to text from a  *|
|* compiled tokenizer table (.g4t): no JSON, no allocation — the caller     *|
|* supplies the table's memory, the output arrays and the work buffer.      *|
|*                                                                          *|
\*===----------------------------------------------------------------------===*/

#ifndef G4TOK_H
#define G4TOK_H

#include "g4rt.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A validated view of a .g4t table; the table's memory must outlive it. */
typedef struct g4_tokenizer {
  const uint8_t *data;
  size_t size;
  uint32_t vocab_size;
} g4_tokenizer;

/** Checks the |size| bytes at |data| (8-byte aligned) as a tokenizer table
 *  and fills |out_tokenizer|. Any inconsistency is G4_FORMAT_ERROR naming
 *  |name| and the problem; nothing is read out of bounds, whatever the
 *  bytes. */
g4_status g4_tokenizer_init(const void *data, size_t size, const char *name,
                            g4_tokenizer *out_tokenizer, g4_error *out_error);

/** Bytes of work memory g4_tokenizer_encode needs for |text_bytes| of
 *  text. */
size_t g4_tokenizer_work_bytes(size_t text_bytes);

/** Encodes |length| bytes of UTF-8 |text| (invalid sequences are read as
 *  U+FFFD) into at most |capacity| ids, exactly as the tokenizer.json it was
 *  compiled from: added tokens split out first (leftmost-longest), then BPE
 *  over each stretch between them. No BOS is added. |work| must hold
 *  g4_tokenizer_work_bytes(length) bytes, 8-byte aligned. */
g4_status g4_tokenizer_encode(const g4_tokenizer *tokenizer, const char *text,
                              size_t length, int32_t *ids, size_t capacity,
                              void *work, size_t work_bytes, size_t *out_count,
                              g4_error *out_error);

/** The id of piece |text| (|length| bytes), or -1. */
int32_t g4_tokenizer_find(const g4_tokenizer *tokenizer, const char *text,
                          size_t length);

/** Streaming decode state: bytes of a character not yet complete. */
typedef struct g4_decoder {
  uint8_t pending[4];
  uint32_t count;
} g4_decoder;

/** Appends the text of token |id| to the stream; writes to |out| only whole
 *  UTF-8 characters (a byte-fallback piece that starts a character waits
 *  for the rest) and returns how many bytes it wrote. |out| needs
 *  g4_tokenizer_max_piece_bytes() + 16 bytes. Ids outside the vocabulary
 *  and bytes that cannot complete a character come out as U+FFFD. */
size_t g4_decoder_push(const g4_tokenizer *tokenizer, g4_decoder *decoder,
                       int32_t id, char *out);

/** Ends the stream: pending bytes come out as U+FFFD each. */
size_t g4_decoder_finish(g4_decoder *decoder, char *out);

/** The longest piece of |tokenizer|, in bytes. */
size_t g4_tokenizer_max_piece_bytes(const g4_tokenizer *tokenizer);

#ifdef __cplusplus
}
#endif

#endif /* G4TOK_H */
