/** @file Image preprocessing identical to PIL + torchvision, without Node: the browser-safe API of src/image (files, sharp and worker threads are in the *.node.ts modules). */
export {
  OPENAI_MEAN,
  OPENAI_STD,
  ImageFormatError,
  preprocessConfigFrom,
  type Interpolation,
  type OpenClipPreprocessCfg,
  type PreprocessConfig,
  type ResizeMode,
  type RGBImage,
  type SourceMode,
} from "./config.js";
export {
  preprocessRGB,
  randomResizedCrop,
  randomResizedCropBox,
  itemRng,
  mirrorRows,
  grayscaleRGB,
  resizedSize,
  centerCropOrigin,
  normalizeLut,
  type CropBox,
} from "./transform.js";
export { precomputeCoeffs, resample8, resampleNearest, type Filter } from "./resample.js";
export { decodeBmp } from "./bmp.js";
export { decodeGif } from "./gif.js";
export { decodeJpeg, type TensorSink } from "./jpeg.js";
export { decodeImageSync, sniffFormat, DEFAULT_MAX_PIXELS, type DecodeOptions, type ImageFormat } from "./decode.js";
export { Rng, type RngState } from "../util/rng.js";
