vkinfer_shader(attention_subgroup attention.comp SUBGROUP)
vkinfer_shader(attention_shared attention.comp)
vkinfer_shader(kv_store kv_store.comp)
