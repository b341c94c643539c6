# Shader variants of the small ops (norm, softmax, elementwise, rotary,
# embedding, argmax). Row reductions come as SUBGROUP (subgroupAdd/Max, the
# workgroup is one subgroup) or shared-memory variants; the embedding table
# comes in fp32 and fp16 storage. Workgroup sizes are specialization constants.
foreach(op norm softmax argmax)
  vkinfer_shader(${op}_subgroup ${op}.comp SUBGROUP)
  vkinfer_shader(${op}_shared ${op}.comp)
endforeach()
vkinfer_shader(norm_subgroup_texel norm.comp SUBGROUP X_TEXEL)
vkinfer_shader(norm_shared_texel norm.comp X_TEXEL)
vkinfer_shader(softmax_subgroup_texel softmax.comp SUBGROUP X_TEXEL)
vkinfer_shader(softmax_shared_texel softmax.comp X_TEXEL)
vkinfer_shader(elementwise elementwise.comp)
vkinfer_shader(rotary rotary.comp)
vkinfer_shader(embedding_f32 embedding.comp WEIGHT_F32)
vkinfer_shader(embedding_f16 embedding.comp WEIGHT_F16)
