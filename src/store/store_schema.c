// SPDX-License-Identifier: Apache-2.0
/*
 * store_schema.c - tables and migrations.
 *
 * Table and column names follow FATE-Flow 2.x (spec §3) so the API can
 * render rows by stripping the f_ prefix and tools that know FATE's schema
 * find what they expect. Differences, all deliberate: metrics live in one
 * table (t_metric) instead of one per day; t_task carries f_run_start
 * (the process start time, to tell a live task from a recycled pid after a
 * restart) and f_exit_status. Migrations are numbered; schema_version in
 * t_schema_version records the last applied one.
 */
#include "ff_setup.h"
#include "store_int.h"

static const char schema_v1[] =
"CREATE TABLE IF NOT EXISTS t_schema_version (f_version INTEGER NOT NULL);"

"CREATE TABLE IF NOT EXISTS t_job ("
" f_job_id TEXT NOT NULL, f_role TEXT NOT NULL, f_party_id TEXT NOT NULL,"
" f_protocol TEXT NOT NULL DEFAULT 'fate', f_flow_id TEXT DEFAULT '',"
" f_user_name TEXT DEFAULT '', f_description TEXT DEFAULT '', f_tag TEXT DEFAULT '',"
" f_dag TEXT, f_parties TEXT, f_initiator_party_id TEXT, f_scheduler_party_id TEXT,"
" f_status TEXT NOT NULL, f_status_code INTEGER, f_inheritance TEXT, f_error_report TEXT DEFAULT '',"
" f_progress INTEGER NOT NULL DEFAULT 0, f_model_id TEXT, f_model_version TEXT,"
" f_engine_name TEXT, f_cores INTEGER NOT NULL DEFAULT 0, f_memory INTEGER NOT NULL DEFAULT 0,"
" f_remaining_cores INTEGER NOT NULL DEFAULT 0, f_remaining_memory INTEGER NOT NULL DEFAULT 0,"
" f_resource_in_use INTEGER NOT NULL DEFAULT 0, f_apply_resource_time INTEGER,"
" f_return_resource_time INTEGER, f_start_time INTEGER, f_end_time INTEGER, f_elapsed INTEGER,"
" f_create_time INTEGER, f_update_time INTEGER,"
" PRIMARY KEY (f_job_id, f_role, f_party_id));"
"CREATE INDEX IF NOT EXISTS i_job_status ON t_job (f_status);"
"CREATE INDEX IF NOT EXISTS i_job_create ON t_job (f_create_time);"

"CREATE TABLE IF NOT EXISTS t_task ("
" f_job_id TEXT NOT NULL, f_task_id TEXT NOT NULL, f_task_version INTEGER NOT NULL,"
" f_role TEXT NOT NULL, f_party_id TEXT NOT NULL, f_protocol TEXT NOT NULL DEFAULT 'fate',"
" f_task_name TEXT NOT NULL, f_component TEXT, f_execution_id TEXT NOT NULL,"
" f_scheduler_party_id TEXT, f_status TEXT NOT NULL, f_party_status TEXT NOT NULL,"
" f_status_code INTEGER, f_component_parameters TEXT, f_task_run TEXT,"
" f_memory INTEGER NOT NULL DEFAULT 0, f_task_cores INTEGER NOT NULL DEFAULT 0,"
" f_resource_in_use INTEGER NOT NULL DEFAULT 0, f_worker_id TEXT, f_cmd TEXT,"
" f_run_ip TEXT, f_run_port INTEGER, f_run_pid INTEGER, f_run_start INTEGER,"
" f_provider_name TEXT, f_task_parameters TEXT, f_engine_conf TEXT,"
" f_kill_status INTEGER NOT NULL DEFAULT 0, f_error_report TEXT DEFAULT '',"
" f_exit_status INTEGER, f_sync_type TEXT, f_timeout INTEGER, f_launcher_name TEXT,"
" f_auto_retries INTEGER NOT NULL DEFAULT 0,"
" f_start_time INTEGER, f_end_time INTEGER, f_elapsed INTEGER,"
" f_create_time INTEGER, f_update_time INTEGER,"
" PRIMARY KEY (f_job_id, f_task_id, f_task_version, f_role, f_party_id));"
"CREATE INDEX IF NOT EXISTS i_task_exec ON t_task (f_execution_id);"
"CREATE INDEX IF NOT EXISTS i_task_pstatus ON t_task (f_party_status);"

"CREATE TABLE IF NOT EXISTS t_schedule_job ("
" f_job_id TEXT PRIMARY KEY, f_protocol TEXT NOT NULL DEFAULT 'fate',"
" f_priority INTEGER NOT NULL DEFAULT 0, f_tag TEXT DEFAULT '', f_dag TEXT, f_parties TEXT,"
" f_initiator_party_id TEXT, f_scheduler_party_id TEXT, f_status TEXT NOT NULL,"
" f_status_code INTEGER, f_progress INTEGER NOT NULL DEFAULT 0,"
" f_schedule_signal INTEGER NOT NULL DEFAULT 0, f_schedule_time INTEGER,"
" f_cancel_signal INTEGER NOT NULL DEFAULT 0, f_cancel_time INTEGER,"
" f_rerun_signal INTEGER NOT NULL DEFAULT 0, f_end_scheduling_updates INTEGER DEFAULT 0,"
" f_cores INTEGER NOT NULL DEFAULT 0, f_sync_type TEXT, f_error_report TEXT DEFAULT '',"
" f_start_time INTEGER, f_end_time INTEGER, f_elapsed INTEGER,"
" f_create_time INTEGER, f_update_time INTEGER);"
"CREATE INDEX IF NOT EXISTS i_sjob_status ON t_schedule_job (f_status, f_priority, f_create_time);"

"CREATE TABLE IF NOT EXISTS t_schedule_task ("
" f_job_id TEXT NOT NULL, f_task_id TEXT NOT NULL, f_task_version INTEGER NOT NULL,"
" f_role TEXT NOT NULL, f_party_id TEXT NOT NULL, f_task_name TEXT, f_component TEXT,"
" f_parties TEXT, f_error_report TEXT DEFAULT '', f_status TEXT NOT NULL,"
" f_start_time INTEGER, f_end_time INTEGER, f_elapsed INTEGER,"
" f_create_time INTEGER, f_update_time INTEGER,"
" PRIMARY KEY (f_job_id, f_task_id, f_task_version, f_role, f_party_id));"

"CREATE TABLE IF NOT EXISTS t_schedule_task_status ("
" f_job_id TEXT NOT NULL, f_task_id TEXT NOT NULL, f_task_version INTEGER NOT NULL,"
" f_task_name TEXT, f_status TEXT NOT NULL, f_auto_retries INTEGER NOT NULL DEFAULT 0,"
" f_sync_type TEXT, f_seq INTEGER NOT NULL DEFAULT 0, f_dependencies TEXT,"
" f_create_time INTEGER, f_update_time INTEGER,"
" PRIMARY KEY (f_job_id, f_task_id, f_task_version));"

"CREATE TABLE IF NOT EXISTS t_engine_registry ("
" f_engine_type TEXT NOT NULL, f_engine_name TEXT NOT NULL, f_engine_config TEXT,"
" f_cores INTEGER NOT NULL DEFAULT 0, f_memory INTEGER NOT NULL DEFAULT 0,"
" f_remaining_cores INTEGER NOT NULL DEFAULT 0, f_remaining_memory INTEGER NOT NULL DEFAULT 0,"
" f_nodes INTEGER NOT NULL DEFAULT 1, f_create_time INTEGER, f_update_time INTEGER,"
" PRIMARY KEY (f_engine_name, f_engine_type));"

"CREATE TABLE IF NOT EXISTS t_provider_info ("
" f_provider_name TEXT PRIMARY KEY, f_name TEXT, f_version TEXT, f_device TEXT,"
" f_metadata TEXT, f_create_time INTEGER, f_update_time INTEGER);"

"CREATE TABLE IF NOT EXISTS t_component_info ("
" f_provider_name TEXT NOT NULL, f_component_name TEXT NOT NULL,"
" f_protocol TEXT NOT NULL DEFAULT 'fate', f_name TEXT, f_version TEXT, f_device TEXT,"
" f_component_entrypoint TEXT, f_component_description TEXT,"
" f_create_time INTEGER, f_update_time INTEGER,"
" PRIMARY KEY (f_provider_name, f_component_name, f_protocol));"

"CREATE TABLE IF NOT EXISTS t_tracking_data_output ("
" f_job_id TEXT NOT NULL, f_task_id TEXT NOT NULL, f_task_version INTEGER NOT NULL,"
" f_task_name TEXT, f_role TEXT NOT NULL, f_party_id TEXT NOT NULL, f_output_key TEXT NOT NULL,"
" f_index INTEGER NOT NULL DEFAULT 0, f_uri TEXT NOT NULL DEFAULT '', f_namespace TEXT, f_name TEXT,"
" f_create_time INTEGER, f_update_time INTEGER,"
" PRIMARY KEY (f_job_id, f_task_id, f_task_version, f_role, f_party_id, f_output_key, f_index));"

"CREATE TABLE IF NOT EXISTS t_storage_table_meta ("
" f_name TEXT NOT NULL, f_namespace TEXT NOT NULL, f_address TEXT, f_engine TEXT,"
" f_options TEXT, f_partitions INTEGER, f_delimiter TEXT, f_have_head INTEGER DEFAULT 1,"
" f_extend_sid INTEGER DEFAULT 0, f_data_meta TEXT, f_count INTEGER, f_part_of_data TEXT,"
" f_source TEXT, f_data_type TEXT, f_disable INTEGER DEFAULT 0, f_description TEXT,"
" f_read_access_time INTEGER, f_write_access_time INTEGER,"
" f_create_time INTEGER, f_update_time INTEGER, PRIMARY KEY (f_name, f_namespace));"

"CREATE TABLE IF NOT EXISTS t_model_meta ("
" f_model_id TEXT, f_model_version TEXT, f_job_id TEXT NOT NULL, f_role TEXT, f_party_id TEXT,"
" f_task_name TEXT, f_storage_key TEXT NOT NULL, f_output_key TEXT, f_type_name TEXT,"
" f_meta_data TEXT, f_storage_engine TEXT NOT NULL DEFAULT 'file',"
" f_create_time INTEGER, f_update_time INTEGER,"
" PRIMARY KEY (f_job_id, f_storage_key, f_storage_engine));"
"CREATE INDEX IF NOT EXISTS i_model_id ON t_model_meta (f_model_id, f_model_version);"

"CREATE TABLE IF NOT EXISTS t_metric ("
" f_id INTEGER PRIMARY KEY AUTOINCREMENT, f_job_id TEXT NOT NULL, f_role TEXT, f_party_id TEXT,"
" f_task_name TEXT, f_task_id TEXT, f_task_version INTEGER, f_name TEXT, f_type TEXT,"
" f_groups TEXT, f_step_axis TEXT, f_data TEXT, f_create_time INTEGER, f_update_time INTEGER);"
"CREATE INDEX IF NOT EXISTS i_metric_task ON t_metric (f_job_id, f_task_name, f_role, f_party_id);"

"CREATE TABLE IF NOT EXISTS t_site_route ("
" f_party_id TEXT PRIMARY KEY, f_url TEXT NOT NULL, f_public_key TEXT NOT NULL,"
" f_create_time INTEGER, f_update_time INTEGER);"

"CREATE TABLE IF NOT EXISTS t_nonce ("
" f_party_id TEXT NOT NULL, f_nonce TEXT NOT NULL, f_time INTEGER NOT NULL,"
" PRIMARY KEY (f_party_id, f_nonce));";

int store_schema_apply(struct store *s, struct ff_error *err)
{
	int ret = s->ops->exec_script(s, schema_v1, err);
	if (ret)
		return ret;
	int64_t v = 0;
	ret = store_get_int(s, "SELECT MAX(f_version) FROM t_schema_version", NULL, 0, &v, err);
	if (ret && ret != FF_ENOTFOUND)
		return ret;
	if (v < 1) {
		struct store_val a[] = { SV_INT(1) };
		ret = store_exec(s, "INSERT INTO t_schema_version (f_version) VALUES (?)", a, 1,
				 NULL, NULL, NULL, err);
	}
	return ret;
}
