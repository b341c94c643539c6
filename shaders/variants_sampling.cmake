# Sampling variants: the candidate kernel's row reduction with subgroup ops or
# through shared memory; the finish kernel reduces on one lane and has none.
vkinfer_shader(sample_candidates_subgroup sample_candidates.comp SUBGROUP)
vkinfer_shader(sample_candidates_shared sample_candidates.comp)
vkinfer_shader(sample_finish sample_finish.comp)
