# Sentence pooling (+ L2 normalize): the normalize step's sum over the
# workgroup with subgroup ops (the workgroup is one subgroup) or through
# shared memory. Modes and normalize are push constants: one pipeline each.
vkinfer_shader(pooling_subgroup pooling.comp SUBGROUP)
vkinfer_shader(pooling_shared pooling.comp)
