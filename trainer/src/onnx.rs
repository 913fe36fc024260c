//! `trainer export-onnx`: the decoder of a weights file as an ONNX model, so the benchmark can
//! run the *same* decoder with the same weights in onnxruntime-web.
//!
//! The protobuf is written by hand (a few message types of onnx.proto, field numbers cited
//! below): MatMul → Add → Relu per hidden layer, MatMul → Add → Sigmoid at the end, input
//! `z: float[batch, 2]`, output `x: float[batch, 784]`, IR version 8, opset 17.

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
            let weight = layer.weight.val().into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default();
            let bias = layer
                .bias
                .as_ref()
                .map(|b| b.val().into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default())
                .unwrap_or_else(|| vec![0.0; outputs]);
            DenseLayer { inputs, outputs, weight, bias }
        })
        .collect();
    let onnx = decoder_onnx(&layers);
    write_atomic(&args.out, &onnx)?;
    println!("wrote {} ({} layers, {:.1} MB)", args.out.display(), layers.len(), onnx.len() as f64 / 1e6);
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
    let mut graph = Vec::new();
    let mut h = "z".to_string();
    let last = layers.len().saturating_sub(1);
    for (i, layer) in layers.iter().enumerate() {
        let (w, b) = (format!("W{i}"), format!("b{i}"));
        let (m, a) = (format!("matmul{i}"), format!("add{i}"));
        let out = if i == last { "x".to_string() } else { format!("h{i}") };
        field_bytes(&mut graph, 1, &node("MatMul", &[&h, &w], &m)); // GraphProto.node = 1
        field_bytes(&mut graph, 1, &node("Add", &[&m, &b], &a));
        field_bytes(&mut graph, 1, &node(if i == last { "Sigmoid" } else { "Relu" }, &[&a], &out));
        field_bytes(&mut graph, 5, &tensor(&w, &[layer.inputs, layer.outputs], &layer.weight)); // initializer = 5
        field_bytes(&mut graph, 5, &tensor(&b, &[layer.outputs], &layer.bias));
        h = out;
    }
    field_bytes(&mut graph, 2, b"vae_decoder"); // GraphProto.name = 2
    let (latent, pixels) = (layers.first().map_or(2, |l| l.inputs), layers.last().map_or(784, |l| l.outputs));
    field_bytes(&mut graph, 11, &value_info("z", latent)); // input = 11
    field_bytes(&mut graph, 12, &value_info("x", pixels)); // output = 12

    let mut model = Vec::new();
    field_varint(&mut model, 1, 8); // ModelProto.ir_version = 1
    field_bytes(&mut model, 2, b"vae-explorer"); // producer_name = 2
    field_bytes(&mut model, 7, &graph); // graph = 7
    let mut opset = Vec::new();
    field_bytes(&mut opset, 1, b""); // OperatorSetIdProto.domain = 1 (default domain)
    field_varint(&mut opset, 2, 17); // version = 2
    field_bytes(&mut model, 8, &opset); // opset_import = 8
    model
}

/// NodeProto: input = 1, output = 2, name = 3, op_type = 4.
fn node(op: &str, inputs: &[&str], output: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for input in inputs {
        field_bytes(&mut out, 1, input.as_bytes());
    }
    field_bytes(&mut out, 2, output.as_bytes());
    field_bytes(&mut out, 3, output.as_bytes());
    field_bytes(&mut out, 4, op.as_bytes());
    out
}

/// TensorProto: dims = 1, data_type = 2 (FLOAT = 1), name = 8, raw_data = 9 (little-endian).
fn tensor(name: &str, dims: &[usize], values: &[f32]) -> Vec<u8> {
    let mut out = Vec::new();
    for &d in dims {
        field_varint(&mut out, 1, d as u64);
    }
    field_varint(&mut out, 2, 1);
    field_bytes(&mut out, 8, name.as_bytes());
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    field_bytes(&mut out, 9, &raw);
    out
}

/// ValueInfoProto { name = 1, type = 2: TypeProto { tensor_type = 1: { elem_type = 1 (FLOAT),
/// shape = 2: TensorShapeProto { dim = 1: [{dim_param = 2: "batch"}, {dim_value = 1: width}] } } } }.
fn value_info(name: &str, width: usize) -> Vec<u8> {
    let mut batch = Vec::new();
    field_bytes(&mut batch, 2, b"batch");
    let mut columns = Vec::new();
    field_varint(&mut columns, 1, width as u64);
    let mut shape = Vec::new();
    field_bytes(&mut shape, 1, &batch);
    field_bytes(&mut shape, 1, &columns);
    let mut tensor_type = Vec::new();
    field_varint(&mut tensor_type, 1, 1);
    field_bytes(&mut tensor_type, 2, &shape);
    let mut type_proto = Vec::new();
    field_bytes(&mut type_proto, 1, &tensor_type);
    let mut out = Vec::new();
    field_bytes(&mut out, 1, name.as_bytes());
    field_bytes(&mut out, 2, &type_proto);
    out
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A varint field (wire type 0).
fn field_varint(out: &mut Vec<u8>, field: u32, v: u64) {
    varint(out, u64::from(field) << 3);
    varint(out, v);
}

/// A length-delimited field (wire type 2): strings, bytes, sub-messages.
fn field_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    varint(out, (u64::from(field) << 3) | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_fields_follow_the_protobuf_wire_format() {
        let mut out = Vec::new();
        varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
        let mut out = Vec::new();
        field_bytes(&mut out, 2, b"hi");
        assert_eq!(out, [0x12, 2, b'h', b'i']);
        let mut out = Vec::new();
        field_varint(&mut out, 1, 8);
        assert_eq!(out, [0x08, 8]);
    }
}
