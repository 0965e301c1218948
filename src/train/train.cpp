// placeholder translation unit so the layer library exists; replaced by the trainer.
namespace lyra::train {}
