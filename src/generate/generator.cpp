// placeholder translation unit so the layer library exists; replaced by the generator.
namespace lyra::gen {}
