"""A small library catalogue on the SQLAlchemy 2 ORM (declarative, `Mapped[...]`, Session,
`select()`), used as its tutorial shows: authors, books with a foreign key, a many-to-many
tag table, eager loading with selectinload (IN lists), a date-range search, an aggregate
with GROUP BY, loans inserted and returned, an UPDATE and a DELETE.

    python sqlalchemy_app.py library.db [rounds]
"""

import datetime
import random
import sys

from sqlalchemy import (
    Column,
    ForeignKey,
    LargeBinary,
    String,
    Table,
    create_engine,
    func,
    select,
    update,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    selectinload,
)


class Base(DeclarativeBase):
    pass


book_tag = Table(
    "book_tag",
    Base.metadata,
    Column("book_id", ForeignKey("book.id"), primary_key=True),
    Column("tag_id", ForeignKey("tag.id"), primary_key=True),
)


class Author(Base):
    __tablename__ = "author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    books: Mapped[list["Book"]] = relationship(back_populates="author")


class Tag(Base):
    __tablename__ = "tag"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(30), unique=True)


class Book(Base):
    __tablename__ = "book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id"), index=True)
    published: Mapped[datetime.date]
    pages: Mapped[int]
    price: Mapped[float | None]
    cover: Mapped[bytes | None] = mapped_column(LargeBinary)
    author: Mapped[Author] = relationship(back_populates="books")
    tags: Mapped[list[Tag]] = relationship(secondary=book_tag)
    loans: Mapped[list["Loan"]] = relationship(back_populates="book")


class Loan(Base):
    __tablename__ = "loan"
    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("book.id"))
    reader: Mapped[str] = mapped_column(String(40))
    taken: Mapped[datetime.datetime]
    returned: Mapped[datetime.datetime | None]
    book: Mapped[Book] = relationship(back_populates="loans")


COUNTRIES = ["fr", "de", "us", "jp", "br", "ng", "in"]


def main() -> None:
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    rng = random.Random(11)
    engine = create_engine(f"sqlite:///{sys.argv[1]}")
    Base.metadata.create_all(engine)
    day0 = datetime.date(2000, 1, 1)
    t0 = datetime.datetime(2026, 1, 1, 9, 0)
    with Session(engine) as s, s.begin():
        tags = [Tag(label=f"tag{i}") for i in range(12)]
        authors = [Author(name=f"Author {i} ✓", country=rng.choice(COUNTRIES)) for i in range(40)]
        s.add_all(tags + authors)
        for i in range(300):
            s.add(
                Book(
                    title=f"Book {i}",
                    author=rng.choice(authors),
                    published=day0 + datetime.timedelta(days=rng.randrange(9000)),
                    pages=rng.randrange(80, 900),
                    price=None if i % 9 == 0 else round(rng.uniform(5, 60), 2),
                    cover=bytes(rng.randrange(256) for _ in range(16)) if i % 4 == 0 else None,
                    tags=rng.sample(tags, rng.randrange(0, 4)),
                )
            )
    for r in range(rounds):
        with Session(engine) as s:
            # an author's page: the author by name, their books with tags eagerly loaded
            a = s.scalars(
                select(Author).where(Author.name == f"Author {rng.randrange(40)} ✓")
            ).one()
            for b in s.scalars(
                select(Book).where(Book.author_id == a.id).options(selectinload(Book.tags))
            ):
                _ = [t.label for t in b.tags]
            # a search: books published in a window, cheapest first
            lo = day0 + datetime.timedelta(days=rng.randrange(8000))
            s.scalars(
                select(Book)
                .where(Book.published.between(lo, lo + datetime.timedelta(days=365)))
                .order_by(Book.price)
                .limit(10)
            ).all()
            # a lookup by primary key, through the identity map
            s.get(Book, rng.randrange(1, 301))
            if r % 5 == 0:  # a report: books per country
                s.execute(
                    select(Author.country, func.count(Book.id)).join(Book).group_by(Author.country)
                ).all()
            # a loan taken; now and then one returned (the session's autobegun transaction)
            s.add(
                Loan(
                    book_id=rng.randrange(1, 301),
                    reader=f"reader{rng.randrange(50)}",
                    taken=t0 + datetime.timedelta(minutes=r),
                )
            )
            if r % 3 == 0:
                open_loan = s.scalars(
                    select(Loan).where(Loan.returned.is_(None)).order_by(Loan.taken).limit(1)
                ).first()
                if open_loan is not None:
                    open_loan.returned = t0 + datetime.timedelta(minutes=r, seconds=30)
            if r % 20 == 0:
                s.execute(
                    update(Book)
                    .where(Book.id == rng.randrange(1, 301))
                    .values(pages=Book.pages + 1)
                )
            if r % 50 == 49:
                s.execute(Loan.__table__.delete().where(Loan.returned.is_not(None)))
            s.commit()
    engine.dispose()


if __name__ == "__main__":
    main()
