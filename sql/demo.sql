-- walrelay demo schema: a small chat. Loaded by `walrelay demo` and by
-- docker-compose.yml. Idempotent: safe to run on an existing database.

create table if not exists users (
  id         text primary key,                 -- the JWT "sub"
  name       text not null,
  avatar     text,
  created_at timestamptz not null default now()
);

create table if not exists rooms (
  id         bigint generated always as identity primary key,
  name       text not null unique,
  topic      text,
  created_at timestamptz not null default now()
);

create table if not exists room_members (
  room_id bigint not null references rooms (id) on delete cascade,
  user_id text   not null references users (id) on delete cascade,
  primary key (room_id, user_id)
);

create table if not exists messages (
  id         bigint generated always as identity primary key,
  room_id    bigint not null references rooms (id) on delete cascade,
  author_id  text   not null references users (id),
  body       text   not null check (length(body) between 1 and 4000),
  meta       jsonb  not null default '{}',
  ip_address inet,
  created_at timestamptz not null default now(),
  edited_at  timestamptz
);
create index if not exists messages_room_created on messages (room_id, created_at);

create table if not exists notifications (
  id         bigint generated always as identity primary key,
  user_id    text not null references users (id) on delete cascade,
  kind       text not null default 'info',
  body       text not null,
  read       boolean not null default false,
  created_at timestamptz not null default now()
);
create index if not exists notifications_user on notifications (user_id, created_at);

insert into users (id, name) values ('alice', 'Alice'), ('bob', 'Bob'), ('carol', 'Carol')
  on conflict do nothing;
insert into rooms (name, topic)
  select * from (values ('general', 'Everyone is here'), ('random', 'Off topic'), ('secret', 'Alice and Carol only')) v
  where not exists (select 1 from rooms);
insert into room_members (room_id, user_id)
  select r.id, u from rooms r, unnest(array['alice','bob','carol']) u where r.name = 'general'
  union all select r.id, u from rooms r, unnest(array['alice','bob']) u where r.name = 'random'
  union all select r.id, u from rooms r, unnest(array['alice','carol']) u where r.name = 'secret'
  on conflict do nothing;
insert into messages (room_id, author_id, body)
  select r.id, 'alice', 'Welcome to walrelay! Try: psql -c "insert into messages (room_id, author_id, body) values (1, ''bob'', ''hi'')"'
  from rooms r where r.name = 'general' and not exists (select 1 from messages);
