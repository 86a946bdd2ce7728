// Encodes files with @lenml/tokenizers (a JavaScript implementation of
// Hugging Face tokenizers), the independent reference for g4c's tokenizer.
// Usage: node encode.js TOKENIZER_JSON FILE... ; prints one line of
// comma-separated ids per file, no special tokens added.
const fs = require("fs");
const { TokenizerLoader } = require("@lenml/tokenizers");

const [jsonPath, ...files] = process.argv.slice(2);
const tokenizerJSON = JSON.parse(fs.readFileSync(jsonPath, "utf8"));
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON,
  tokenizerConfig: { tokenizer_class: "GemmaTokenizer" },
});
for (const file of files) {
  const text = fs.readFileSync(file, "utf8");
  const ids = tokenizer.encode(text, { add_special_tokens: false });
  console.log(ids.join(","));
}
