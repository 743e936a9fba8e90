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
        scopes -> Nullable<Text>,
        public_key -> Nullable<Text>,
    }
}

diesel::table! {
    client_assertions (jti) {
        jti -> Text,
        client_id -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> BigInt,
        organisation_id -> Integer,
        url -> Text,
        events -> Text,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        failing_since -> Nullable<Timestamp>,
        disabled_at -> Nullable<Timestamp>,
        removed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_messages (id) {
        id -> BigInt,
        endpoint_id -> BigInt,
        event_seq -> BigInt,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        gave_up_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    token_keys (kid) {
        kid -> Text,
        private_key -> Text,
        created_at -> Timestamp,
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
        target -> Nullable<Text>,
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

diesel::table! {
    subscriptions (id) {
        id -> Integer,
        organisation_id -> Integer,
        file_type -> Text,
        authorisation -> Nullable<Text>,
        authorised_from -> Nullable<Date>,
        authorised_to -> Nullable<Date>,
        starts_on -> Date,
        ends_on -> Nullable<Date>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    subscription_dossier_types (subscription_id, dossier_type_id) {
        subscription_id -> Integer,
        dossier_type_id -> Integer,
    }
}

diesel::table! {
    dimona_periods (period_id) {
        period_id -> BigInt,
        employer_cbe -> Nullable<Text>,
        employer_nsso -> Nullable<Text>,
        worker_ssin -> Text,
        starts_on -> Date,
        start_hour -> Nullable<Text>,
        ends_on -> Nullable<Date>,
        end_hour -> Nullable<Text>,
        joint_committee -> Text,
        worker_type -> Text,
        using_employer_cbe -> Nullable<Text>,
        planned_hours -> Nullable<Text>,
        status -> Text,
        version -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    dimona_declarations (seq) {
        seq -> BigInt,
        recorded_at -> Timestamp,
        file_id -> Text,
        record_id -> Text,
        kind -> Text,
        period_id -> BigInt,
        employer_cbe -> Nullable<Text>,
        employer_nsso -> Nullable<Text>,
        worker_ssin -> Text,
        starts_on -> Date,
        start_hour -> Nullable<Text>,
        ends_on -> Nullable<Date>,
        end_hour -> Nullable<Text>,
        joint_committee -> Text,
        worker_type -> Text,
        using_employer_cbe -> Nullable<Text>,
        planned_hours -> Nullable<Text>,
    }
}

diesel::table! {
    batch_runs (reference_date) {
        reference_date -> Date,
        journal_after -> BigInt,
        journal_upto -> BigInt,
        dimona_after -> BigInt,
        dimona_upto -> BigInt,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        files -> Integer,
        records -> BigInt,
        trigger_name -> Text,
    }
}

diesel::table! {
    batch_files (id) {
        id -> Integer,
        reference_date -> Date,
        subscription_id -> Integer,
        organisation_id -> Integer,
        file_type -> Text,
        sequence_number -> BigInt,
        file_name -> Text,
        server_ticket -> Text,
        records -> Nullable<BigInt>,
        size -> Nullable<BigInt>,
        sha256 -> Nullable<Text>,
        written_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    batch_sequences (organisation_id, file_type) {
        organisation_id -> Integer,
        file_type -> Text,
        last_sequence -> BigInt,
    }
}

diesel::table! {
    person_search_keys (search_key, birth, ssin) {
        search_key -> BigInt,
        birth -> Integer,
        ssin -> Text,
        given_name_bits -> Integer,
    }
}

diesel::table! {
    search_index (id) {
        id -> Integer,
        key_version -> Integer,
        built_at -> Timestamp,
    }
}

diesel::table! {
    documents (id) {
        id -> BigInt,
        file_type -> Text,
        file_name -> Text,
        subject -> Nullable<Text>,
        location -> Text,
        voucher_location -> Nullable<Text>,
        signature_location -> Nullable<Text>,
        batch_file_id -> Nullable<Integer>,
        reference_date -> Nullable<Date>,
        sequence_number -> Nullable<BigInt>,
        records -> Nullable<BigInt>,
        size -> BigInt,
        sha256 -> Text,
        registered -> Bool,
        published_by -> Text,
        published_at -> Timestamp,
        expires_at -> Timestamp,
        expired_at -> Nullable<Timestamp>,
        removed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    deliveries (id) {
        id -> BigInt,
        organisation_id -> Integer,
        document_id -> BigInt,
        first_downloaded_at -> Nullable<Timestamp>,
        first_downloaded_by -> Nullable<Text>,
        unread_notice_at -> Nullable<Timestamp>,
        expiry_notice_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    organisation_contacts (id) {
        id -> BigInt,
        organisation_id -> Integer,
        address -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    email_messages (id) {
        id -> BigInt,
        organisation_id -> Integer,
        kind -> Text,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        gave_up_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    mail_summaries (organisation_id) {
        organisation_id -> Integer,
        last_event_seq -> BigInt,
        summarised_at -> Timestamp,
    }
}

diesel::table! {
    mailbox_events (seq) {
        seq -> BigInt,
        organisation_id -> Integer,
        delivery_id -> BigInt,
        kind -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::joinable!(credentials -> organisations (organisation_id));
diesel::joinable!(dossier_types -> organisations (organisation_id));
diesel::joinable!(relations -> dossier_types (dossier_type_id));
diesel::joinable!(grants -> organisations (organisation_id));
diesel::joinable!(subscriptions -> organisations (organisation_id));
diesel::joinable!(subscription_dossier_types -> subscriptions (subscription_id));
diesel::joinable!(subscription_dossier_types -> dossier_types (dossier_type_id));
diesel::joinable!(batch_files -> subscriptions (subscription_id));
diesel::joinable!(batch_files -> batch_runs (reference_date));
diesel::joinable!(deliveries -> documents (document_id));
diesel::joinable!(deliveries -> organisations (organisation_id));
diesel::joinable!(mailbox_events -> deliveries (delivery_id));
diesel::joinable!(webhook_messages -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_messages -> mailbox_events (event_seq));
diesel::joinable!(webhook_endpoints -> organisations (organisation_id));
diesel::joinable!(organisation_contacts -> organisations (organisation_id));
diesel::joinable!(email_messages -> organisations (organisation_id));
diesel::joinable!(mail_summaries -> organisations (organisation_id));

diesel::allow_tables_to_appear_in_same_query!(
    client_assertions,
    organisation_contacts,
    email_messages,
    mail_summaries,
    webhook_endpoints,
    webhook_messages,
    token_keys,
    documents,
    deliveries,
    mailbox_events,
    person_search_keys,
    search_index,
    organisations,
    credentials,
    dossier_types,
    relations,
    audit_entries,
    persons,
    mutation_journal,
    grants,
    applied_files,
    subscriptions,
    subscription_dossier_types,
    dimona_periods,
    dimona_declarations,
    batch_runs,
    batch_files,
    batch_sequences,
);
