/*===- g4gen.h - g4c runtime: sampling and chat formatting --------*- C -*-===*\
|*                                                                          *|
|* Part of g4c. What turns logits into text in a conversation: a seeded,     *|
|* reproducible sampler (greedy, temperature, top-k, top-p, min-p,           *|
|* repetition penalty) and the Gemma 4 chat template. No allocation: the    *|
|* caller supplies work memory and output buffers.                          *|
|*                                                                          *|
\*===----------------------------------------------------------------------===*/

#ifndef G4GEN_H
#define G4GEN_H

#include "g4rt.h"

#ifdef __cplusplus
extern "C" {
#endif

/*===----------------------------------------------------------------------===*
 * Sampler
 *===----------------------------------------------------------------------===*/

/** Sampling settings. temperature 0 is greedy (argmax); top_k 0, top_p 1,
 *  min_p 0 and repetition_penalty 1 switch those filters off. */
typedef struct g4_sampling {
  float temperature;
  int32_t top_k;
  float top_p;
  float min_p;
  float repetition_penalty;
  uint64_t seed;
} g4_sampling;

/** Gemma 4's generation_config.json defaults: temperature 1.0, top_k 64,
 *  top_p 0.95 (min_p 0, no repetition penalty, seed 0). */
g4_sampling g4_sampling_defaults(void);

typedef struct g4_sampler {
  g4_sampling config;
  uint64_t state; /**< the random generator's state */
} g4_sampler;

/** Checks |config| (finite, in range) and seeds |out_sampler|. */
g4_status g4_sampler_init(const g4_sampling *config, g4_sampler *out_sampler,
                          g4_error *out_error);

/** Work memory g4_sample needs for a vocabulary of |vocab_size|. */
size_t g4_sampler_work_bytes(int32_t vocab_size);

/** Picks the next token from |logits| (|vocab_size| values; modified in
 *  place): repetition penalty over the |recent_count| ids in |recent|
 *  (positive logits divided, negative multiplied), temperature, top-k,
 *  top-p, min-p, then a draw from the remaining distribution. The same seed
 *  and inputs give the same tokens. |work|: g4_sampler_work_bytes, 8-byte
 *  aligned. */
int32_t g4_sample(g4_sampler *sampler, float *logits, int32_t vocab_size,
                  const int32_t *recent, size_t recent_count, void *work);

/*===----------------------------------------------------------------------===*
 * Chat template
 *===----------------------------------------------------------------------===*/

typedef enum g4_role {
  G4_ROLE_SYSTEM = 0,
  G4_ROLE_USER = 1,
  G4_ROLE_MODEL = 2,
} g4_role;

typedef struct g4_message {
  g4_role role;
  const char *text;
  size_t length;
} g4_message;

/** Writes the Gemma 4 turn format of |messages| to |out|:
 *    <bos><|turn>system\n[<|think|>\n]{system}<turn|>\n
 *    <|turn>user\n{text}<turn|>\n  <|turn>model\n{answer}<turn|>\n ...
 *    <|turn>model\n   (with |add_generation_prompt|)
 *  A system turn appears when there is a system message or |thinking| is
 *  on. Earlier model turns lose their thoughts (<|channel>...<channel|>).
 *  Other roles' text is copied as is, so text that spells special tokens
 *  stays special (as in Hugging Face's template). |*out_length| receives
 *  the length; G4_OUT_OF_MEMORY when |capacity| is too small (the length
 *  needed is still reported). */
g4_status g4_chat_format(const g4_message *messages, size_t count, int thinking,
                         int add_generation_prompt, char *out, size_t capacity,
                         size_t *out_length, g4_error *out_error);

#ifdef __cplusplus
}
#endif

#endif /* G4GEN_H */
