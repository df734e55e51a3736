/** @file Image preprocessing identical to PIL + torchvision: the public API of src/image. */
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
  resizedSize,
  centerCropOrigin,
  normalizeLut,
  type CropBox,
} from "./transform.js";
export { precomputeCoeffs, resample8, resampleNearest, type Filter } from "./resample.js";
export { decodeBmp } from "./bmp.js";
export { decodeGif } from "./gif.js";
export { decodeJpeg, type TensorSink } from "./jpeg.js";
export { decodeImage, probeImage, sniffFormat, DEFAULT_MAX_PIXELS, type DecodeOptions, type ImageFormat, type ImageProbe } from "./decode.js";
export { preprocessImage } from "./pipeline.js";
export { ImagePool, type ImagePoolOptions, type BatchOptions, type BatchResult } from "./pool.js";
export { Rng, type RngState } from "../util/rng.js";
