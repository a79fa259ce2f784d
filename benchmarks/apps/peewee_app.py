"""A small social app on peewee (ORM), used as its users use it: models with a foreign
key, a composite UNIQUE index, transactions, joins and IN lists.

    python peewee_app.py app.db [rounds]
"""

import datetime
import random
import sys

from peewee import (
    BlobField,
    BooleanField,
    CharField,
    DateTimeField,
    DecimalField,
    ForeignKeyField,
    IntegerField,
    Model,
    SqliteDatabase,
    TextField,
)

db = SqliteDatabase(sys.argv[1], pragmas={"journal_mode": "wal", "foreign_keys": 1})


class Base(Model):
    class Meta:
        database = db


class User(Base):
    username = CharField(unique=True)
    joined = DateTimeField()
    active = BooleanField(default=True)
    avatar = BlobField(null=True)


class Tweet(Base):
    user = ForeignKeyField(User, backref="tweets")
    content = TextField()
    created = DateTimeField()
    likes = IntegerField(default=0)
    price = DecimalField(null=True)


class Follow(Base):
    from_user = ForeignKeyField(User, backref="following")
    to_user = ForeignKeyField(User, backref="followers")

    class Meta:
        indexes = ((("from_user", "to_user"), True),)


def main() -> None:
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    rng = random.Random(7)
    db.connect()
    db.create_tables([User, Tweet, Follow])
    t0 = datetime.datetime(2026, 1, 1)
    with db.atomic():
        users = [
            User.create(username=f"user{i}", joined=t0, avatar=bytes([i % 256, 0, 255]))
            for i in range(60)
        ]
    for r in range(rounds):
        u = rng.choice(users)
        with db.atomic():
            Tweet.create(
                user=u,
                content=f"tweet {r} ünïcode ✓",
                created=t0 + datetime.timedelta(minutes=r),
                price=None,
            )
        if r % 3 == 0:
            a, b = rng.sample(users, 2)
            Follow.get_or_create(from_user=a, to_user=b)
        # timeline: tweets of the people u follows
        followed = [f.to_user_id for f in Follow.select().where(Follow.from_user == u)]
        list(
            Tweet.select()
            .where(Tweet.user.in_(followed or [0]))
            .order_by(Tweet.created.desc())
            .limit(20)
        )
        User.get_or_none(User.username == f"user{rng.randrange(60)}")
        list(Tweet.select(Tweet, User).join(User).where(User.active == True).limit(5))  # noqa: E712
        if r % 10 == 0:
            Tweet.update(likes=Tweet.likes + 1).where(Tweet.id == rng.randrange(1, r + 2)).execute()
        if r % 25 == 0:
            Follow.delete().where(Follow.from_user == u).execute()
    db.close()


if __name__ == "__main__":
    main()
