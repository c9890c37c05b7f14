"""Function rule tables: the maintained deny-list and the built-in read-only allow-lists.

Data only; `functions.py` applies it. Names are lower case and unqualified; a call is
matched on its last name part, whatever schema qualifies it (``pg_catalog.pg_sleep``
is still ``pg_sleep``). Grow the deny-list whenever a bypass is found, and add a
corpus line for it (tests/data/classify_corpus.jsonl).

A deny-list entry is ``(kind floor, flags, why)``: the statement becomes at least that
kind and gains those flags, whatever the catalog says about the function.
"""

from __future__ import annotations

from wardgate.classify.model import Kind, words

DenyEntry = tuple[Kind, frozenset[str], str]


def _entries(names: str, kind: Kind, flags: str, why: str) -> dict[str, DenyEntry]:
    entry = (kind, frozenset(flags.split()), why)
    return {name: entry for name in names.split()}


_R, _S, _W, _A, _U = Kind.READ, Kind.SESSION, Kind.WRITE, Kind.ADMIN, Kind.UNKNOWN

POSTGRES_DENY: dict[str, DenyEntry] = {
    **_entries(
        "pg_terminate_backend pg_cancel_backend pg_reload_conf pg_rotate_logfile"
        " pg_rotate_logfile_old pg_switch_wal pg_switch_xlog pg_create_restore_point"
        " pg_promote pg_wal_replay_pause pg_wal_replay_resume pg_xlog_replay_pause"
        " pg_xlog_replay_resume pg_backup_start pg_backup_stop pg_start_backup pg_stop_backup"
        " pg_stat_reset pg_stat_reset_shared pg_stat_reset_single_table_counters"
        " pg_stat_reset_single_function_counters pg_stat_reset_slru pg_stat_reset_replication_slot"
        " pg_stat_reset_subscription_stats pg_stat_statements_reset"
        " pg_create_physical_replication_slot pg_create_logical_replication_slot"
        " pg_drop_replication_slot pg_copy_physical_replication_slot"
        " pg_copy_logical_replication_slot pg_replication_slot_advance"
        " pg_logical_slot_get_changes pg_logical_slot_get_binary_changes"
        " pg_logical_slot_peek_changes pg_logical_slot_peek_binary_changes"
        " pg_logical_emit_message pg_replication_origin_create pg_replication_origin_drop"
        " pg_import_system_collations pg_log_backend_memory_contexts postgres_fdw_disconnect"
        " postgres_fdw_disconnect_all pg_extension_config_dump",
        _A,
        "side_effect_function",
        "server-wide side effect",
    ),
    **_entries(
        "pg_read_file pg_read_binary_file pg_ls_dir pg_stat_file pg_ls_logdir pg_ls_waldir"
        " pg_ls_tmpdir pg_ls_archive_statusdir pg_ls_logicalsnapdir pg_ls_logicalmapdir"
        " pg_ls_replslotdir pg_file_write pg_file_rename pg_file_unlink pg_file_sync"
        " pg_logdir_ls lo_import lo_export",
        _A,
        "file_access side_effect_function",
        "reads or writes server files",
    ),
    **_entries(
        "dblink dblink_exec dblink_open dblink_fetch dblink_close dblink_connect"
        " dblink_connect_u dblink_send_query dblink_get_result dblink_disconnect",
        _U,
        "dynamic_sql cross_db side_effect_function",
        "runs SQL text on another connection",
    ),
    **_entries(
        "query_to_xml query_to_xmlschema query_to_xml_and_xmlschema table_to_xml"
        " table_to_xmlschema table_to_xml_and_xmlschema schema_to_xml schema_to_xmlschema"
        " schema_to_xml_and_xmlschema database_to_xml database_to_xmlschema"
        " database_to_xml_and_xmlschema cursor_to_xml cursor_to_xmlschema ts_stat",
        _U,
        "dynamic_sql",
        "runs SQL text or reads tables the statement does not name",
    ),
    **_entries(
        "set_config", _A, "side_effect_function", "changes settings, including role and search_path"
    ),
    **_entries(
        "nextval setval txid_current pg_current_xact_id pg_notify lo_create lo_creat lo_unlink"
        " lo_put lo_from_bytea lowrite lo_truncate lo_truncate64 lo_open"
        " http http_get http_post http_put http_patch http_delete http_head",
        _W,
        "side_effect_function",
        "has a side effect outside the statement's result",
    ),
    **_entries(
        "pg_advisory_lock pg_advisory_lock_shared pg_advisory_xact_lock"
        " pg_advisory_xact_lock_shared",
        _W,
        "locking side_effect_function dos",
        "takes a lock and may wait for it",
    ),
    **_entries(
        "pg_try_advisory_lock pg_try_advisory_lock_shared pg_try_advisory_xact_lock"
        " pg_try_advisory_xact_lock_shared",
        _W,
        "locking side_effect_function",
        "takes a lock",
    ),
    **_entries(
        "pg_advisory_unlock pg_advisory_unlock_shared pg_advisory_unlock_all",
        _S,
        "",
        "releases this session's own advisory locks (asyncpg's pool reset does)",
    ),
    **_entries("pg_sleep pg_sleep_for pg_sleep_until", _R, "dos", "sleeps"),
}

MYSQL_DENY: dict[str, DenyEntry] = {
    **_entries("sleep benchmark", _R, "dos", "burns time"),
    **_entries(
        "master_pos_wait source_pos_wait wait_for_executed_gtid_set"
        " wait_until_sql_thread_after_gtids",
        _R,
        "dos",
        "waits on replication",
    ),
    **_entries(
        "get_lock", _W, "locking side_effect_function dos", "takes a named lock and may wait"
    ),
    **_entries("release_lock release_all_locks", _S, "", "releases this session's own named locks"),
    **_entries("load_file", _A, "file_access", "reads a server file"),
    **_entries(
        "sys_exec sys_eval lib_mysqludf_sys_info",
        _A,
        "program_exec",
        "runs an operating system program",
    ),
    **_entries("nextval setval", _W, "side_effect_function", "advances a sequence"),
}

#: Name prefixes of MySQL administrative function families.
MYSQL_DENY_PREFIXES: dict[str, DenyEntry] = {
    prefix: (_A, frozenset({"side_effect_function"}), "administrative function")
    for prefix in (
        "group_replication_",
        "asynchronous_connection_failover_",
        "audit_log_",
        "keyring_",
        "mysql_firewall_",
        "version_tokens_",
        "service_get_",
    )
}

POSTGRES_BUILTINS: frozenset[str] = words("""
    count sum avg min max array_agg string_agg json_agg jsonb_agg json_object_agg
    jsonb_object_agg bool_and bool_or every bit_and bit_or bit_xor stddev stddev_pop
    stddev_samp variance var_pop var_samp corr covar_pop covar_samp regr_avgx regr_avgy
    regr_count regr_intercept regr_r2 regr_slope regr_sxx regr_sxy regr_syy
    percentile_cont percentile_disc mode rank dense_rank row_number ntile lag lead
    first_value last_value nth_value cume_dist percent_rank grouping xmlagg range_agg
    range_intersect_agg any_value
    lower upper length char_length character_length octet_length bit_length substr
    substring position strpos trim btrim ltrim rtrim lpad rpad replace translate concat
    concat_ws left right repeat reverse split_part initcap format quote_ident
    quote_literal quote_nullable md5 sha224 sha256 sha384 sha512 encode decode to_hex
    ascii chr regexp_match regexp_matches regexp_replace regexp_split_to_array
    regexp_split_to_table regexp_count regexp_instr regexp_like regexp_substr starts_with
    string_to_array array_to_string string_to_table overlay unistr normalize to_char
    to_number to_date to_timestamp convert convert_from convert_to get_byte set_byte
    get_bit set_bit bit_count crc32 crc32c casefold
    abs ceil ceiling floor round trunc sign sqrt cbrt exp ln log log10 power pow mod
    div pi degrees radians sin cos tan asin acos atan atan2 sind cosd tand asind acosd
    atand atan2d sinh cosh tanh asinh acosh atanh cot cotd random random_normal setseed
    greatest least width_bucket gcd lcm factorial scale min_scale trim_scale
    erf erfc
    now clock_timestamp statement_timestamp transaction_timestamp timeofday date_trunc
    date_part extract age make_date make_time make_timestamp make_timestamptz
    make_interval justify_days justify_hours justify_interval isfinite date_bin
    date_add date_subtract
    coalesce nullif num_nulls num_nonnulls
    json_build_object jsonb_build_object json_build_array jsonb_build_array json_object
    jsonb_object to_json to_jsonb row_to_json array_to_json json_extract_path
    json_extract_path_text jsonb_extract_path jsonb_extract_path_text json_array_length
    jsonb_array_length json_each jsonb_each json_each_text jsonb_each_text
    json_object_keys jsonb_object_keys jsonb_set jsonb_set_lax jsonb_insert jsonb_pretty
    jsonb_typeof json_typeof json_strip_nulls jsonb_strip_nulls jsonb_path_query
    jsonb_path_query_array jsonb_path_query_first jsonb_path_exists jsonb_path_match
    json_populate_record json_populate_recordset jsonb_populate_record
    jsonb_populate_recordset json_to_record json_to_recordset jsonb_to_record
    jsonb_to_recordset json_array_elements json_array_elements_text
    jsonb_array_elements jsonb_array_elements_text json_scalar json_serialize
    json_array json_exists json_query json_value json_table
    array_length array_lower array_upper cardinality array_append array_prepend
    array_cat array_remove array_replace array_position array_positions unnest
    array_dims array_ndims generate_series generate_subscripts array_fill array_sample
    array_shuffle array_reverse array_sort trim_array
    current_database current_schema current_schemas current_user current_role
    session_user user version pg_backend_pid inet_client_addr inet_client_port
    inet_server_addr inet_server_port pg_postmaster_start_time pg_conf_load_time
    current_setting current_catalog has_table_privilege has_column_privilege
    has_any_column_privilege has_database_privilege has_schema_privilege
    has_function_privilege has_sequence_privilege has_type_privilege
    has_foreign_data_wrapper_privilege has_server_privilege has_tablespace_privilege
    has_language_privilege has_parameter_privilege pg_has_role pg_get_viewdef
    pg_get_indexdef pg_get_constraintdef pg_get_functiondef pg_get_function_arguments
    pg_get_function_result pg_get_function_identity_arguments pg_get_triggerdef
    pg_get_ruledef pg_get_statisticsobjdef pg_get_expr pg_get_userbyid
    pg_get_serial_sequence pg_get_keywords pg_get_partkeydef pg_table_is_visible
    pg_type_is_visible pg_function_is_visible pg_opclass_is_visible pg_operator_is_visible
    format_type obj_description col_description shobj_description pg_relation_size
    pg_total_relation_size pg_table_size pg_indexes_size pg_database_size
    pg_tablespace_size pg_size_pretty pg_size_bytes pg_column_size pg_typeof
    pg_encoding_to_char pg_char_to_encoding pg_client_encoding txid_current_snapshot
    pg_current_snapshot txid_snapshot_xmin txid_snapshot_xmax pg_snapshot_xmin
    pg_snapshot_xmax txid_current_if_assigned pg_current_xact_id_if_assigned txid_status
    pg_xact_status txid_visible_in_snapshot pg_visible_in_snapshot pg_is_in_recovery
    pg_is_wal_replay_paused pg_last_wal_replay_lsn pg_last_wal_receive_lsn
    pg_current_wal_lsn pg_current_wal_insert_lsn pg_wal_lsn_diff pg_last_xact_replay_timestamp
    pg_tablespace_location pg_relation_filenode pg_relation_filepath pg_describe_object
    pg_identify_object pg_identify_object_as_address to_regclass to_regtype
    to_regproc to_regprocedure to_regoper to_regnamespace to_regrole to_regcollation
    row_security_active pg_is_other_temp_schema pg_my_temp_schema pg_blocking_pids
    pg_safe_snapshot_blocking_pids pg_notification_queue_usage pg_listening_channels
    pg_jit_available pg_trigger_depth currval lastval gen_random_uuid uuidv4 uuidv7
    pg_stat_get_activity pg_stat_get_backend_pid pg_postmaster_start_time
    pg_get_object_address pg_column_compression pg_index_column_has_property
    pg_index_has_property pg_indexam_has_property pg_options_to_table
    pg_settings_get_flags pg_input_is_valid pg_input_error_info pg_column_toast_chunk_id
    to_tsvector to_tsquery plainto_tsquery phraseto_tsquery websearch_to_tsquery
    ts_rank ts_rank_cd ts_headline setweight strip numnode querytree tsvector_to_array
    array_to_tsvector ts_lexize ts_debug ts_parse ts_token_type get_current_ts_config
    ts_delete ts_filter ts_rewrite tsquery_phrase
    xmlelement xmlforest xmlconcat xmlparse xmlserialize xmlcomment xmlpi xmlroot
    xpath xpath_exists xml_is_well_formed xml_is_well_formed_document
    xml_is_well_formed_content xmlexists xmltable xmltext
    isempty lower_inc upper_inc lower_inf upper_inf range_merge multirange
    host hostmask masklen netmask network set_masklen text abbrev broadcast family
    inet_merge inet_same_family macaddr8_set7bit
    area center diameter height width radius npoints isclosed isopen pclose popen
    box circle line lseg path point polygon bound_box
    digest hmac crypt gen_salt uuid_generate_v4 uuid_generate_v1 uuid_nil
    bernoulli system system_rows system_time lo_get loread like notlike ilike
    cast array row exists any all some in values nullif coalesce greatest least
    """)

MYSQL_BUILTINS: frozenset[str] = words("""
    abs acos adddate addtime aes_decrypt aes_encrypt any_value ascii asin atan atan2 avg
    bin bin_to_uuid bit_and bit_count bit_length bit_or bit_xor cast ceil ceiling char
    char_length character_length charset coalesce coercibility collation compress concat
    concat_ws connection_id conv convert convert_tz cos cot count crc32 cume_dist curdate
    current_date current_role current_time current_timestamp current_user curtime database
    date date_add date_format date_sub datediff day dayname dayofmonth dayofweek dayofyear
    default degrees dense_rank elt exp export_set extract field find_in_set first_value
    floor format format_bytes format_pico_time found_rows from_base64 from_days
    from_unixtime greatest group_concat grouping hex hour if ifnull in inet_aton inet_ntoa
    inet6_aton inet6_ntoa insert instr interval is_free_lock is_ipv4 is_ipv4_compat
    is_ipv4_mapped is_ipv6 is_used_lock is_uuid isnull json_array json_arrayagg
    json_array_append json_array_insert json_contains json_contains_path json_depth
    json_extract json_insert json_keys json_length json_merge json_merge_patch
    json_merge_preserve json_object json_objectagg json_overlaps json_pretty json_quote
    json_remove json_replace json_schema_valid json_schema_validation_report json_search
    json_set json_storage_free json_storage_size json_table json_type json_unquote
    json_valid json_value json_exists json_query json_normalize json_equals json_detailed
    json_loose json_compact json_array_intersect json_object_filter_keys
    json_object_to_array json_key_value lag last_day last_insert_id last_value lcase lead
    least left length ln localtime localtimestamp locate log log10 log2 lower lpad ltrim
    make_set makedate maketime max md5 microsecond mid min minute mod month monthname
    name_const now nth_value ntile nullif oct octet_length ord percent_rank period_add
    period_diff pi position pow power quarter quote radians rand random_bytes rank
    regexp_instr regexp_like regexp_replace regexp_substr repeat replace
    reverse right round row_count row_number rpad rtrim schema sec_to_time second
    session_user sha sha1 sha2 sign sin soundex space sqrt std stddev stddev_pop
    stddev_samp str_to_date strcmp subdate substr substring substring_index subtime sum
    sysdate system_user tan time time_format time_to_sec timediff timestamp timestampadd
    timestampdiff to_base64 to_days to_seconds trim truncate ucase uncompress
    uncompressed_length unhex unix_timestamp upper user utc_date utc_time utc_timestamp
    uuid uuid_short uuid_to_bin values var_pop var_samp variance version week weekday
    weekofyear weight_string year yearweek row exists match ps_current_thread_id
    ps_thread_id icu_version regexp_instr statement_digest statement_digest_text
    gtid_subset gtid_subtract roles_graphml validate_password_strength
    nvl nvl2 decode decode_oracle sformat natural_sort_key lastval to_char chr
    st_astext st_aswkt st_asbinary st_aswkb st_geomfromtext st_geomfromwkb st_distance
    st_contains st_within st_intersects st_x st_y st_srid point linestring polygon
    """)

#: Type names written like calls (``numeric(10, 2)``, ``VARCHAR(255)``): type modifiers
#: or casts, not function calls; not reported as functions.
TYPE_NAMES: dict[str, frozenset[str]] = {
    "postgres": words("""
    int2 int4 int8 int smallint integer bigint numeric decimal real float float4 float8
    double varchar char character bpchar text bool boolean date time timestamp
    timestamptz timetz interval bit varbit bytea json jsonb uuid inet cidr macaddr
    money name oid regclass regtype regproc xml tsvector tsquery int4range int8range
    numrange tsrange tstzrange daterange precision
    """),
    "mysql": words("""
    tinyint smallint mediumint int integer bigint decimal dec numeric float double real
    bit varchar binary varbinary blob text enum set datetime signed unsigned
    """),
}
