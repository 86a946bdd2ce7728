//===- GemmaBase.td - Gemma dialect definition -------------*- tablegen -*-===//
//
// Part of g4c. The `gemma` dialect models the Gemma 4 text decoder at the
// level of the architecture document: one op per concept.
//
//===----------------------------------------------------------------------===//

#ifndef G4C_DIALECT_GEMMA_IR_GEMMABASE_TD
#define G4C_DIALECT_GEMMA_IR_GEMMABASE_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/OpBase.td"

def Gemma_Dialect : Dialect {
  let name = "gemma";
  let summary = "Gemma 4 model-level operations";
  let description = [{
    The `gemma` dialect describes a Gemma 4 model one architectural concept
    per op (embedding, per-layer inputs, RMSNorm, attention, MLP, MoE, logit
    softcap). Weights are symbolic references to checkpoint tensors; tensor
    data never enters the IR. Passes specialise and lower these ops to
    shape-specialised kernel calls.
  }];
  let cppNamespace = "::g4c::gemma";
  let useDefaultAttributePrinterParser = 1;
}

//===----------------------------------------------------------------------===//
// Attention kind
//===----------------------------------------------------------------------===//

def Gemma_AttentionKind : I32EnumAttr<"AttentionKind",
    "which tokens a layer's attention sees", [
      I32EnumAttrCase<"Sliding", 0, "sliding">,
      I32EnumAttrCase<"Full", 1, "full">
    ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::g4c::gemma";
}

def Gemma_AttentionKindAttr
    : EnumAttr<Gemma_Dialect, Gemma_AttentionKind, "attention_kind"> {
  let summary = "sliding-window (local) or full (global) attention";
  let assemblyFormat = "`<` $value `>`";
}

class Gemma_Op<string mnemonic, list<Trait> traits = []>
    : Op<Gemma_Dialect, mnemonic, traits>;

#endif // G4C_DIALECT_GEMMA_IR_GEMMABASE_TD
