//===- WeightRecipe.cpp - which format each packed tensor gets ------------===//
//
// Part of g4c. This file implements recipe parsing (llvm::json, every
// unknown key and bad value refused with the file's name) and the
// per-tensor format decision.
//
//===----------------------------------------------------------------------===//

#include "targets/weights/WeightRecipe.h"
#include "compiler/Support/Error.h"
#include "targets/weights/Quantize.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/GlobPattern.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

namespace g4c {

using weightfile::Format;

constexpr uint32_t kDefaultGroup = 32;

std::string formatName(const TensorFormat &format) {
  switch (format.format) {
  case Format::F32:
    return "f32";
  case Format::BF16:
    return "bf16";
  case Format::Int8:
    return "int8";
  case Format::Int4:
    return llvm::formatv("int4/{0}", format.group).str();
  }
  return "?";
}

llvm::Expected<TensorFormat>
parseTensorFormat(llvm::StringRef text, uint32_t group, llvm::StringRef what) {
  TensorFormat result;
  if (text == "f32")
    result.format = Format::F32;
  else if (text == "bf16")
    result.format = Format::BF16;
  else if (text == "int8")
    result.format = Format::Int8;
  else if (text == "int4")
    result.format = Format::Int4;
  else
    return makeError(what + ": format must be f32, bf16, int8 or int4, got '" +
                     text + "'");
  if (result.format != Format::Int4)
    return result;
  if (!isValidInt4Group(group))
    return makeError(llvm::formatv(
        "{0}: int4 group size must be 32, 64 or 128, got {1}", what, group));
  result.group = group;
  return result;
}

llvm::Error WeightRecipe::addRulesFromFile(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return makeError(path + ": cannot read: " + buffer.getError().message());
  return addRules((*buffer)->getBuffer(), path);
}

llvm::Error WeightRecipe::addRules(llvm::StringRef text, llvm::StringRef path) {
  auto parsed = llvm::json::parse(text);
  if (!parsed)
    return makeError(path +
                     ": not valid JSON: " + llvm::toString(parsed.takeError()));
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root)
    return makeError(path + ": expected an object {\"rules\": [...]}");
  for (const auto &entry : *root)
    if (entry.first != "rules")
      return makeError(path + ": unknown key '" + entry.first.str() +
                       "' (expected only \"rules\")");
  const llvm::json::Array *list = root->getArray("rules");
  if (!list)
    return makeError(path + ": expected \"rules\": a list of rules");
  for (size_t i = 0; i < list->size(); ++i) {
    std::string where = llvm::formatv("{0}: rule {1}", path, i).str();
    const llvm::json::Object *rule = (*list)[i].getAsObject();
    if (!rule)
      return makeError(where + ": expected an object");
    for (const auto &entry : *rule)
      if (entry.first != "match" && entry.first != "format" &&
          entry.first != "group_size")
        return makeError(where + ": unknown key '" + entry.first.str() +
                         "' (expected match, format, group_size)");
    std::optional<llvm::StringRef> match = rule->getString("match");
    std::optional<llvm::StringRef> format = rule->getString("format");
    if (!match || !format)
      return makeError(where + ": needs \"match\" and \"format\" strings");
    uint32_t group = kDefaultGroup;
    if (const llvm::json::Value *size = rule->get("group_size")) {
      std::optional<int64_t> value = size->getAsInteger();
      if (!value || *value <= 0 || *value > 1024)
        return makeError(where + ": group_size must be 32, 64 or 128");
      group = uint32_t(*value);
    }
    auto parsedFormat = parseTensorFormat(*format, group, where);
    if (!parsedFormat)
      return parsedFormat.takeError();
    if (auto glob = llvm::GlobPattern::create(*match); !glob)
      return makeError(where + ": bad pattern '" + *match +
                       "': " + llvm::toString(glob.takeError()));
    rules.push_back({match->str(), *parsedFormat});
  }
  return llvm::Error::success();
}

TensorFormat WeightRecipe::formatFor(llvm::StringRef name, size_t rank,
                                     uint64_t columns) const {
  if (rank < 2)
    return {matrices.format == Format::F32 ? Format::F32 : Format::BF16, 0};
  TensorFormat format = matrices;
  for (const Rule &rule : rules)
    if (llvm::cantFail(llvm::GlobPattern::create(rule.match)).match(name)) {
      format = rule.format;
      break;
    }
  if (format.format == Format::Int4 &&
      !canQuantize(format.format, columns, format.group))
    return {Format::Int8, 0};
  return format;
}

bool WeightRecipe::allF32() const {
  if (matrices.format != Format::F32)
    return false;
  for (const Rule &rule : rules)
    if (rule.format.format != Format::F32)
      return false;
  return true;
}

} // namespace g4c
