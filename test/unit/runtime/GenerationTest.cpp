//===- GenerationTest.cpp - sampler and chat template ---------------------===//
//
// Part of g4c. The sampler's filters on distributions worked out by hand,
// its reproducibility by seed and its frequencies; the chat template's exact
// text from the architecture document's format (§4.1).
//
//===----------------------------------------------------------------------===//

#include "g4gen.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace {

struct Sampler {
  g4_sampler sampler;
  std::vector<uint64_t> work;

  explicit Sampler(g4_sampling config, int32_t vocab = 8) {
    g4_error error;
    EXPECT_EQ(g4_sampler_init(&config, &sampler, &error), G4_OK)
        << error.message;
    work.resize(g4_sampler_work_bytes(vocab) / 8 + 1);
  }
  int32_t sample(std::vector<float> logits,
                 const std::vector<int32_t> &recent = {}) {
    return g4_sample(&sampler, logits.data(), int32_t(logits.size()),
                     recent.data(), recent.size(), work.data());
  }
};

g4_sampling plain() {
  g4_sampling s = g4_sampling_defaults();
  s.top_k = 0;
  s.top_p = 1.0f;
  return s;
}

/// Logits of the distribution {0.5, 0.3, 0.2}.
std::vector<float> threeWay() {
  return {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
}

TEST(Sampler, GreedyAndTopOneAreArgmax) {
  g4_sampling greedy = plain();
  greedy.temperature = 0;
  EXPECT_EQ(Sampler(greedy).sample({0.1f, 3.0f, -1.0f, 2.9f}), 1);
  g4_sampling top1 = plain();
  top1.top_k = 1;
  Sampler s(top1);
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(s.sample({0.1f, 3.0f, -1.0f, 2.9f}), 1);
}

TEST(Sampler, FrequenciesFollowTheDistribution) {
  Sampler s(plain());
  int counts[3] = {};
  const int draws = 30000;
  for (int i = 0; i < draws; ++i)
    ++counts[s.sample(threeWay())];
  EXPECT_NEAR(counts[0] / double(draws), 0.5, 0.015);
  EXPECT_NEAR(counts[1] / double(draws), 0.3, 0.015);
  EXPECT_NEAR(counts[2] / double(draws), 0.2, 0.015);
}

TEST(Sampler, TopPAndMinPCutTheTail) {
  // top-p 0.6: 0.5 < 0.6 <= 0.5 + 0.3, so the 0.2 token never comes.
  g4_sampling topP = plain();
  topP.top_p = 0.6f;
  // min-p 0.5: tokens below 0.5 * 0.5 = 0.25 go.
  g4_sampling minP = plain();
  minP.min_p = 0.5f;
  for (g4_sampling config : {topP, minP}) {
    Sampler s(config);
    int counts[3] = {};
    for (int i = 0; i < 5000; ++i)
      ++counts[s.sample(threeWay())];
    EXPECT_EQ(counts[2], 0);
    EXPECT_GT(counts[1], 1500); // 0.3 / 0.8 of the draws
  }
}

TEST(Sampler, RepetitionPenaltyAndSeeds) {
  g4_sampling greedy = plain();
  greedy.temperature = 0;
  greedy.repetition_penalty = 2.0f;
  // 2.0 / 2 = 1.0 < 1.9: the repeated token loses; a negative logit is
  // multiplied (-0.5 * 2 = -1 < -0.9).
  EXPECT_EQ(Sampler(greedy).sample({2.0f, 1.9f}, {0, 0}), 1);
  EXPECT_EQ(Sampler(greedy).sample({-0.5f, -0.9f}, {0}), 1);

  std::vector<int32_t> a, b, c;
  g4_sampling seeded = plain();
  seeded.seed = 42;
  Sampler first(seeded), second(seeded);
  seeded.seed = 43;
  Sampler other(seeded);
  for (int i = 0; i < 64; ++i) {
    a.push_back(first.sample(threeWay()));
    b.push_back(second.sample(threeWay()));
    c.push_back(other.sample(threeWay()));
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Sampler, RejectsBadSettings) {
  g4_sampler sampler;
  g4_error error;
  for (auto [field, message] :
       std::initializer_list<std::pair<int, const char *>>{
           {0, "temperature"},
           {1, "top-k"},
           {2, "top-p"},
           {3, "min-p"},
           {4, "repetition penalty"}}) {
    g4_sampling s = g4_sampling_defaults();
    if (field == 0)
      s.temperature = -1;
    if (field == 1)
      s.top_k = -3;
    if (field == 2)
      s.top_p = 0;
    if (field == 3)
      s.min_p = 1.5f;
    if (field == 4)
      s.repetition_penalty = 0;
    EXPECT_EQ(g4_sampler_init(&s, &sampler, &error), G4_INVALID_ARGUMENT);
    EXPECT_NE(std::string(error.message).find(message), std::string::npos)
        << error.message;
  }
}

std::string format(const std::vector<g4_message> &messages, int thinking,
                   int generationPrompt) {
  size_t length = 0;
  g4_chat_format(messages.data(), messages.size(), thinking, generationPrompt,
                 nullptr, 0, &length, nullptr);
  std::string text(length, '\0');
  g4_error error;
  EXPECT_EQ(g4_chat_format(messages.data(), messages.size(), thinking,
                           generationPrompt, &text[0], length, &length, &error),
            G4_OK)
      << error.message;
  return text;
}

g4_message message(g4_role role, const char *text) {
  return {role, text, std::char_traits<char>::length(text)};
}

TEST(ChatTemplate, TurnsAsInTheArchitectureDocument) {
  EXPECT_EQ(format({message(G4_ROLE_USER, "Hi")}, 0, 1),
            "<bos><|turn>user\nHi<turn|>\n<|turn>model\n");
  EXPECT_EQ(
      format({message(G4_ROLE_SYSTEM, "Be brief."), message(G4_ROLE_USER, "Hi"),
              message(G4_ROLE_MODEL, "Hello."), message(G4_ROLE_USER, "Bye")},
             0, 1),
      "<bos><|turn>system\nBe brief.<turn|>\n"
      "<|turn>user\nHi<turn|>\n<|turn>model\nHello.<turn|>\n"
      "<|turn>user\nBye<turn|>\n<|turn>model\n");
  // Thinking opens the system turn; earlier thoughts are stripped.
  EXPECT_EQ(format({message(G4_ROLE_USER, "Q"),
                    message(G4_ROLE_MODEL, "<|channel>thought\nhmm<channel|>A"),
                    message(G4_ROLE_USER, "Q2")},
                   1, 0),
            "<bos><|turn>system\n<|think|>\n<turn|>\n<|turn>user\nQ<turn|>\n"
            "<|turn>model\nA<turn|>\n<|turn>user\nQ2<turn|>\n");
}

TEST(ChatTemplate, ReportsTheSizeItNeeds) {
  g4_message hi = message(G4_ROLE_USER, "Hi");
  char small[8];
  size_t length = 0;
  g4_error error;
  EXPECT_EQ(g4_chat_format(&hi, 1, 0, 1, small, sizeof(small), &length, &error),
            G4_OUT_OF_MEMORY);
  EXPECT_EQ(length,
            std::string("<bos><|turn>user\nHi<turn|>\n<|turn>model\n").size());
  g4_message late = message(G4_ROLE_SYSTEM, "late");
  g4_message two[] = {hi, late};
  EXPECT_EQ(g4_chat_format(two, 2, 0, 1, nullptr, 0, &length, &error),
            G4_INVALID_ARGUMENT);
}

} // namespace
