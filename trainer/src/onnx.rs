//! `trainer export-onnx`: the decoder of a weights file as an ONNX model, so the benchmark can
//! run the *same* decoder with the same weights in onnxruntime-web.
//!
//! The graph is MatMul → Add → Relu per hidden layer, MatMul → Add → Sigmoid at the end, input
//! `z: float[batch, 2]`, output `x: float[batch, 784]`, IR version 8, opset 17. The few
//! messages of onnx.proto it needs are declared with prost's derive (field numbers from
//! onnx.proto), and prost writes the protobuf: no protoc or generated code at build time.

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::prelude::*;
use vae_core::WeightsFile;

use crate::export::write_atomic;

/// Options of `trainer export-onnx`.
#[derive(clap::Args, Debug, Clone)]
pub struct ExportOnnxArgs {
    /// Weights file whose decoder to export.
    #[arg(long, default_value = "weights/vae.vaew")]
    pub weights: PathBuf,
    /// Where to write the ONNX model.
    #[arg(long, default_value = "decoder.onnx")]
    pub out: PathBuf,
    /// Print one JSON object ({out, layers, bytes}) instead of a sentence.
    #[arg(long)]
    pub json: bool,
}

/// Writes the decoder of `args.weights` as ONNX to `args.out`.
pub fn export_onnx(args: &ExportOnnxArgs) -> Result<()> {
    let bytes = std::fs::read(&args.weights).with_context(|| format!("reading {}", args.weights.display()))?;
    let file = WeightsFile::from_bytes(&bytes).with_context(|| format!("{}", args.weights.display()))?;
    let model = file.load_model(&Device::flex())?;
    let layers: Vec<DenseLayer> = model
        .decoder
        .iter()
        .map(|layer| {
            let [inputs, outputs] = layer.weight.dims();
            let weight = vae_core::numeric::to_vec(layer.weight.val());
            let bias = layer.bias.as_ref().map(|b| vae_core::numeric::to_vec(b.val())).unwrap_or_else(|| vec![0.0; outputs]);
            DenseLayer { inputs, outputs, weight, bias }
        })
        .collect();
    let onnx = decoder_onnx(&layers);
    write_atomic(&args.out, &onnx)?;
    if args.json {
        println!("{}", serde_json::json!({ "out": args.out, "layers": layers.len(), "bytes": onnx.len() }));
    } else {
        println!("wrote {} ({} layers, {:.1} MB)", args.out.display(), layers.len(), onnx.len() as f64 / 1e6);
    }
    Ok(())
}

/// One `x · W + b` layer; `weight` is `[inputs, outputs]` row-major (burn's layout, and ONNX
/// MatMul's).
pub struct DenseLayer {
    pub inputs: usize,
    pub outputs: usize,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// The ONNX `ModelProto` bytes of an MLP decoder.
pub fn decoder_onnx(layers: &[DenseLayer]) -> Vec<u8> {
    let mut graph = proto::GraphProto { name: "vae_decoder".into(), ..Default::default() };
    let mut h = "z".to_string();
    let last = layers.len().saturating_sub(1);
    for (i, layer) in layers.iter().enumerate() {
        let (w, b) = (format!("W{i}"), format!("b{i}"));
        let (m, a) = (format!("matmul{i}"), format!("add{i}"));
        let out = if i == last { "x".to_string() } else { format!("h{i}") };
        graph.node.push(node("MatMul", &[&h, &w], &m));
        graph.node.push(node("Add", &[&m, &b], &a));
        graph.node.push(node(if i == last { "Sigmoid" } else { "Relu" }, &[&a], &out));
        graph.initializer.push(tensor(&w, &[layer.inputs, layer.outputs], &layer.weight));
        graph.initializer.push(tensor(&b, &[layer.outputs], &layer.bias));
        h = out;
    }
    let (latent, pixels) = (layers.first().map_or(2, |l| l.inputs), layers.last().map_or(784, |l| l.outputs));
    graph.input.push(value_info("z", latent));
    graph.output.push(value_info("x", pixels));
    let model = proto::ModelProto {
        ir_version: IR_VERSION,
        producer_name: "vae-explorer".into(),
        graph: Some(graph),
        opset_import: vec![proto::OperatorSetIdProto { domain: String::new(), version: OPSET }],
    };
    prost::Message::encode_to_vec(&model)
}

/// ONNX IR version 8 and the default domain's opset 17: what onnxruntime-web 1.30 runs.
const IR_VERSION: i64 = 8;
const OPSET: i64 = 17;
/// `TensorProto.DataType.FLOAT`.
const FLOAT: i32 = 1;

fn node(op: &str, inputs: &[&str], output: &str) -> proto::NodeProto {
    proto::NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        name: output.into(),
        op_type: op.into(),
    }
}

/// An initializer: little-endian f32 in `raw_data`.
fn tensor(name: &str, dims: &[usize], values: &[f32]) -> proto::TensorProto {
    proto::TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: FLOAT,
        name: name.into(),
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// `name: float[batch, width]`.
fn value_info(name: &str, width: usize) -> proto::ValueInfoProto {
    let dim = |value: Option<i64>, param: Option<&str>| proto::Dimension { dim_value: value, dim_param: param.map(Into::into) };
    proto::ValueInfoProto {
        name: name.into(),
        r#type: Some(proto::TypeProto {
            tensor_type: Some(proto::TensorTypeProto {
                elem_type: FLOAT,
                shape: Some(proto::TensorShapeProto { dim: vec![dim(None, Some("batch")), dim(Some(width as i64), None)] }),
            }),
        }),
    }
}

/// The few messages of onnx.proto (proto2) the decoder needs, with onnx.proto's field numbers;
/// prost does the wire encoding.
mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ModelProto {
        #[prost(int64, tag = "1")]
        pub ir_version: i64,
        #[prost(string, tag = "2")]
        pub producer_name: String,
        #[prost(message, optional, tag = "7")]
        pub graph: Option<GraphProto>,
        #[prost(message, repeated, tag = "8")]
        pub opset_import: Vec<OperatorSetIdProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct OperatorSetIdProto {
        #[prost(string, tag = "1")]
        pub domain: String,
        #[prost(int64, tag = "2")]
        pub version: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GraphProto {
        #[prost(message, repeated, tag = "1")]
        pub node: Vec<NodeProto>,
        #[prost(string, tag = "2")]
        pub name: String,
        #[prost(message, repeated, tag = "5")]
        pub initializer: Vec<TensorProto>,
        #[prost(message, repeated, tag = "11")]
        pub input: Vec<ValueInfoProto>,
        #[prost(message, repeated, tag = "12")]
        pub output: Vec<ValueInfoProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NodeProto {
        #[prost(string, repeated, tag = "1")]
        pub input: Vec<String>,
        #[prost(string, repeated, tag = "2")]
        pub output: Vec<String>,
        #[prost(string, tag = "3")]
        pub name: String,
        #[prost(string, tag = "4")]
        pub op_type: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorProto {
        /// proto2: repeated scalars are not packed.
        #[prost(int64, repeated, packed = "false", tag = "1")]
        pub dims: Vec<i64>,
        #[prost(int32, tag = "2")]
        pub data_type: i32,
        #[prost(string, tag = "8")]
        pub name: String,
        #[prost(bytes = "vec", tag = "9")]
        pub raw_data: Vec<u8>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ValueInfoProto {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub r#type: Option<TypeProto>,
    }

    /// `TypeProto` with its `tensor_type` member (of the `value` oneof).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TypeProto {
        #[prost(message, optional, tag = "1")]
        pub tensor_type: Option<TensorTypeProto>,
    }

    /// `TypeProto.Tensor`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorTypeProto {
        #[prost(int32, tag = "1")]
        pub elem_type: i32,
        #[prost(message, optional, tag = "2")]
        pub shape: Option<TensorShapeProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorShapeProto {
        #[prost(message, repeated, tag = "1")]
        pub dim: Vec<Dimension>,
    }

    /// `TensorShapeProto.Dimension`: a fixed size or a named (symbolic) one.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Dimension {
        #[prost(int64, optional, tag = "1")]
        pub dim_value: Option<i64>,
        #[prost(string, optional, tag = "2")]
        pub dim_param: Option<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn the_decoder_graph_is_matmul_add_activation_per_layer_with_its_weights() {
        let layers = [
            DenseLayer { inputs: 2, outputs: 3, weight: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], bias: vec![0.5; 3] },
            DenseLayer { inputs: 3, outputs: 4, weight: (0..12).map(|i| i as f32).collect(), bias: vec![-1.0; 4] },
        ];
        let bytes = decoder_onnx(&layers);
        let model = proto::ModelProto::decode(bytes.as_slice()).expect("valid protobuf");
        assert_eq!((model.ir_version, model.opset_import[0].version), (IR_VERSION, OPSET));
        let graph = model.graph.expect("a graph");
        let ops: Vec<_> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops, ["MatMul", "Add", "Relu", "MatMul", "Add", "Sigmoid"]);
        assert_eq!(graph.node[0].input, ["z", "W0"]);
        assert_eq!(graph.node[5].output, ["x"]);
        let w1 = &graph.initializer[2];
        assert_eq!((w1.name.as_str(), w1.dims.as_slice(), w1.data_type), ("W1", &[3i64, 4][..], FLOAT));
        let values: Vec<f32> = w1.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        assert_eq!(values, layers[1].weight);
        let shape = |v: &proto::ValueInfoProto| {
            v.r#type.as_ref().and_then(|t| t.tensor_type.as_ref()).and_then(|t| t.shape.clone()).expect("shape")
        };
        assert_eq!(shape(&graph.input[0]).dim[1].dim_value, Some(2));
        assert_eq!(shape(&graph.output[0]).dim[0].dim_param.as_deref(), Some("batch"));
        assert_eq!(shape(&graph.output[0]).dim[1].dim_value, Some(4));
    }
}
