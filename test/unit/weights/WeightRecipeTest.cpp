//===- WeightRecipeTest.cpp - per-tensor formats from --weights + recipe --===//
//
// Part of g4c. The first matching rule decides, vectors stay float, int4
// that does not divide the columns falls back to int8, and every malformed
// recipe is refused with the file and the rule named.
//
//===----------------------------------------------------------------------===//

#include "targets/weights/WeightRecipe.h"

#include <gtest/gtest.h>

using namespace g4c;
using weightfile::Format;

namespace {

TensorFormat parse(llvm::StringRef text, uint32_t group = 32) {
  auto format = parseTensorFormat(text, group, "--weights");
  EXPECT_TRUE(bool(format));
  return format ? *format : TensorFormat{};
}

std::string recipeError(llvm::StringRef text) {
  WeightRecipe recipe(parse("bf16"));
  llvm::Error error = recipe.addRules(text, "r.json");
  return error ? llvm::toString(std::move(error)) : "";
}

TEST(WeightRecipe, FirstMatchingRuleDecidesForMatrices) {
  WeightRecipe recipe(parse("int4"));
  ASSERT_FALSE(bool(recipe.addRules(R"({"rules": [
      {"match": "embed_tokens.weight", "format": "int8"},
      {"match": "layers.*.mlp.*", "format": "int4", "group_size": 64},
      {"match": "layers.*", "format": "bf16"}]})",
                                    "r.json")));
  EXPECT_EQ(recipe.formatFor("embed_tokens.weight", 2, 1536),
            (TensorFormat{Format::Int8, 0}));
  EXPECT_EQ(recipe.formatFor("layers.3.mlp.up_proj.weight", 2, 1536),
            (TensorFormat{Format::Int4, 64}));
  EXPECT_EQ(recipe.formatFor("layers.3.self_attn.q_proj.weight", 2, 1536),
            (TensorFormat{Format::BF16, 0}));
  EXPECT_EQ(recipe.formatFor("per_layer_model_projection.weight", 2, 1536),
            (TensorFormat{Format::Int4, 32}));
  // Vectors are never quantised; int4 that does not divide falls to int8.
  EXPECT_EQ(recipe.formatFor("layers.3.mlp.norm", 1, 1536),
            (TensorFormat{Format::BF16, 0}));
  EXPECT_EQ(recipe.formatFor("layers.3.mlp.down_proj.weight", 2, 96),
            (TensorFormat{Format::Int8, 0}));
  EXPECT_FALSE(recipe.allF32());
  EXPECT_TRUE(WeightRecipe(parse("f32")).allF32());
  EXPECT_EQ(WeightRecipe(parse("f32")).formatFor("norm.weight", 1, 64),
            (TensorFormat{Format::F32, 0}));
}

TEST(WeightRecipe, BadFormatsAndRecipesAreRefused) {
  EXPECT_FALSE(bool(parseTensorFormat("int3", 32, "--weights")));
  auto badGroup = parseTensorFormat("int4", 48, "--weights");
  ASSERT_FALSE(bool(badGroup));
  EXPECT_NE(llvm::toString(badGroup.takeError()).find("32, 64 or 128"),
            std::string::npos);
  EXPECT_NE(recipeError("{").find("r.json: not valid JSON"), std::string::npos);
  EXPECT_NE(recipeError(R"({"rule": []})").find("unknown key 'rule'"),
            std::string::npos);
  EXPECT_NE(recipeError(R"({"rules": [{"match": "a"}]})")
                .find("r.json: rule 0: needs \"match\" and \"format\""),
            std::string::npos);
  EXPECT_NE(recipeError(R"({"rules": [{"match": "a", "format": "fp8"}]})")
                .find("rule 0: format must be"),
            std::string::npos);
  EXPECT_NE(recipeError(R"({"rules": [{"match": "a", "format": "int4",
                                        "group_size": 16}]})")
                .find("group size must be 32, 64 or 128"),
            std::string::npos);
  EXPECT_NE(recipeError(R"({"rules": [{"match": "[a", "format": "int8"}]})")
                .find("bad pattern '[a'"),
            std::string::npos);
  EXPECT_NE(recipeError(R"({"rules": [{"match": "a", "format": "int8",
                                        "group": 32}]})")
                .find("unknown key 'group'"),
            std::string::npos);
  WeightRecipe recipe(parse("bf16"));
  llvm::Error missing = recipe.addRulesFromFile("/nonexistent/r.json");
  ASSERT_TRUE(bool(missing));
  EXPECT_NE(llvm::toString(std::move(missing)).find("/nonexistent/r.json"),
            std::string::npos);
}

} // namespace
