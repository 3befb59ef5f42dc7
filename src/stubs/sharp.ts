/**
 * Stand-in for `sharp`, an image library that @huggingface/transformers imports but Persona Lens never uses
 * (we load tokenizers only). Bundling this keeps a native image library out of the extension.
 */
function sharp(): never {
  throw new Error('Image processing is not available in Persona Lens (sharp is not bundled).');
}
export default sharp;
