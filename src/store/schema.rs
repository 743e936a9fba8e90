//! The tables, one declaration for SQLite and PostgreSQL alike
//! (the migrations in `migrations/sqlite` and `migrations/postgres` create the same shape).

diesel::table! {
    organisations (id) {
        id -> Integer,
        cbe_number -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    credentials (id) {
        id -> Integer,
        organisation_id -> Integer,
        username -> Text,
        secret_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    dossier_types (id) {
        id -> Integer,
        organisation_id -> Integer,
        code -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    relations (id) {
        id -> BigInt,
        organisation_id -> Integer,
        ssin -> Text,
        dossier_type_id -> Integer,
        begin_date -> Date,
        end_date -> Nullable<Date>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_entries (id) {
        id -> BigInt,
        recorded_at -> Timestamp,
        service -> Text,
        operation -> Text,
        organisation_id -> Nullable<Integer>,
        claimed_cbe_number -> Nullable<Text>,
        username -> Nullable<Text>,
        ssin -> Nullable<Text>,
        legal_context -> Nullable<Text>,
        client_ticket -> Nullable<Text>,
        server_ticket -> Text,
        outcome -> Text,
    }
}

diesel::table! {
    persons (ssin) {
        ssin -> Text,
        status -> Text,
        replaced_by -> Nullable<Text>,
        last_name -> Text,
        first_names -> Text,
        birth_date -> Text,
        gender -> Nullable<Text>,
        nationality -> Nullable<Text>,
        birth_place -> Nullable<Text>,
        street -> Nullable<Text>,
        house_number -> Nullable<Text>,
        post_box -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        municipality -> Nullable<Text>,
        country -> Nullable<Text>,
        decease_date -> Nullable<Text>,
        version -> Integer,
        source -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    mutation_journal (seq) {
        seq -> BigInt,
        recorded_at -> Timestamp,
        source -> Text,
        kind -> Text,
        ssin -> Text,
        new_ssin -> Nullable<Text>,
        organisation_id -> Nullable<Integer>,
        changes -> Nullable<Text>,
    }
}

diesel::table! {
    grants (organisation_id, operation) {
        organisation_id -> Integer,
        operation -> Text,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    applied_files (file_id) {
        file_id -> Text,
        kind -> Text,
        digest -> Text,
        records -> BigInt,
        applied_at -> Timestamp,
    }
}

diesel::joinable!(credentials -> organisations (organisation_id));
diesel::joinable!(dossier_types -> organisations (organisation_id));
diesel::joinable!(relations -> dossier_types (dossier_type_id));
diesel::joinable!(grants -> organisations (organisation_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    credentials,
    dossier_types,
    relations,
    audit_entries,
    persons,
    mutation_journal,
    grants,
    applied_files,
);
