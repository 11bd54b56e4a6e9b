import { MysqlAdapter, sql, type Kysely } from 'kysely';

// Frozen in time: this file must never import application code.

const ts = sql`datetime(3)`;

function isMysql(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof MysqlAdapter;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('likes')
    .addColumn('post_id', 'integer', (c) => c.notNull().references('posts.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('likes_pk', ['post_id', 'user_id'])
    .execute();
  await db.schema.createIndex('likes_user_idx').on('likes').columns(['user_id', 'created_at']).execute();

  await db.schema
    .createTable('comments')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('post_id', 'integer', (c) => c.notNull().references('posts.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('comments_post_idx')
    .on('comments')
    .columns(['post_id', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('comments_user_idx')
    .on('comments')
    .columns(['user_id', 'created_at'])
    .execute();

  // Followers and following lists, and the feed's "whom do I follow", page over (created_at, other id).
  await db.schema
    .createIndex('follows_follower_created_idx')
    .on('follows')
    .columns(['follower_id', 'created_at', 'followed_id'])
    .execute();
  await db.schema
    .createIndex('follows_followed_created_idx')
    .on('follows')
    .columns(['followed_id', 'created_at', 'follower_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const mysql = isMysql(db);
  for (const index of ['follows_followed_created_idx', 'follows_follower_created_idx']) {
    const drop = db.schema.dropIndex(index);
    await (mysql ? drop.on('follows') : drop.ifExists()).execute();
  }
  for (const table of ['comments', 'likes']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
