"""transformers.js's q8 quantization (its scripts/quantize.py, mode "q8"), replicated for the issue-16 bench.

Usage: python3 bench/int8/tjs_quantize.py IN.onnx OUT.onnx
Needs the `onnx` and `onnxruntime` (1.30.0) Python packages: `pip install onnx onnxruntime==1.30.0`.

The settings are those of transformers.js's converter for dtype "q8" (the `*_quantized.onnx` files):
ONNXQuantizer in IntegerOps mode (dynamic: activations uint8, quantized per run), per_channel and
reduce_range off (its argument defaults), the op types of IntegerOpsRegistry (MatMul, Conv, Gather,
Attention, ...), extra options EnableSubgraph and MatMulConstBOnly, and weights QUInt8 when the
graph has a Conv (the vision tower: onnxruntime-web has no int8 ConvInteger) and QInt8 otherwise.
"""
import sys

import onnx
from onnxruntime.quantization import QuantizationMode, QuantType
from onnxruntime.quantization.onnx_quantizer import ONNXQuantizer
from onnxruntime.quantization.registry import IntegerOpsRegistry

QUINT8_OPS = ("Conv", "GroupQueryAttention", "MultiHeadAttention")


def operators(model):
    ops = set()

    def walk(graph):
        for node in graph.node:
            ops.add(node.op_type)
            for a in node.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)

    walk(model.graph)
    return ops


def main(src, dst):
    model = onnx.load_model(src)
    weight_type = QuantType.QUInt8 if any(op in QUINT8_OPS for op in operators(model)) else QuantType.QInt8
    quantizer = ONNXQuantizer(
        model,
        False,  # per_channel (transformers.js default: None)
        False,  # reduce_range (default: None)
        mode=QuantizationMode.IntegerOps,
        static=False,
        weight_qType=weight_type,
        activation_qType=QuantType.QUInt8,
        tensors_range=None,
        nodes_to_quantize=[],
        nodes_to_exclude=[],
        op_types_to_quantize=set(IntegerOpsRegistry.keys()),
        extra_options=dict(EnableSubgraph=True, MatMulConstBOnly=True),
    )
    quantizer.quantize_model()
    onnx.save_model(quantizer.model.model, dst)
    print(f"{dst}: weights {weight_type.name}, ops {sorted(operators(quantizer.model.model))}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
