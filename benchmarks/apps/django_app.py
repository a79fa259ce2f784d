"""A small blog on Django with SQLite, configured in-script (settings.configure) and driven
through Django's test Client, as its tutorial's tests do: categories and articles with
unique slugs, a detail page got by slug (with its comments and a view counter bumped by an
F() update), a paginated list page (COUNT, then LIMIT/OFFSET), a category page, a comment
posted by a form, a few 404s for slugs that do not exist. No network: the Client calls the
WSGI handler in-process. Tables are made by migrate (contenttypes, auth) and the schema
editor (the blog's models: the app is this script).

    python django_app.py blog.db [requests]
"""

import datetime
import random
import sys

import django
from django.apps import AppConfig
from django.conf import settings


class BlogConfig(AppConfig):
    """The blog app is this script: its models are defined below, once apps are ready."""

    name = "__main__"
    label = "blog"


settings.configure(
    DEBUG=False,
    SECRET_KEY="perflab-corpus",
    ALLOWED_HOSTS=["testserver"],
    ROOT_URLCONF=__name__,
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1]}},
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "__main__.BlogConfig"],
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
)
django.setup()

from django.contrib.auth.models import Group, Permission, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.paginator import Paginator  # noqa: E402
from django.db import connection, models  # noqa: E402
from django.db.models import Count, F  # noqa: E402
from django.http import HttpResponse, HttpResponseRedirect  # noqa: E402
from django.shortcuts import get_object_or_404  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import path  # noqa: E402


class Category(models.Model):
    name = models.CharField(max_length=60)
    slug = models.SlugField(unique=True)

    class Meta:
        app_label = "blog"


class Article(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="articles")
    author = models.ForeignKey(User, on_delete=models.CASCADE)
    body = models.TextField()
    published = models.DateTimeField(db_index=True)
    views = models.IntegerField(default=0)

    class Meta:
        app_label = "blog"
        ordering = ["-published"]


class Comment(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="comments")
    name = models.CharField(max_length=60)
    text = models.TextField()
    created = models.DateTimeField()

    class Meta:
        app_label = "blog"


def article_list(request):
    qs = Article.objects.select_related("category").order_by("-published")
    page = Paginator(qs, 10).get_page(request.GET.get("page"))
    return HttpResponse("\n".join(f"{a.title} [{a.category.name}]" for a in page))


def category_page(request, slug):
    cat = get_object_or_404(Category, slug=slug)
    arts = cat.articles.annotate(n=Count("comments"))[:20]
    return HttpResponse("\n".join(f"{a.title} ({a.n})" for a in arts))


def article_detail(request, slug):
    art = get_object_or_404(Article.objects.select_related("author"), slug=slug)
    if request.method == "POST":
        Comment.objects.create(
            article=art, name=request.POST["name"], text=request.POST["text"], created=T0
        )
        return HttpResponseRedirect(f"/a/{slug}/")
    Article.objects.filter(pk=art.pk).update(views=F("views") + 1)
    comments = art.comments.order_by("created")[:50]
    return HttpResponse(f"{art.title} by {art.author.username}: {len(comments)} comments")


urlpatterns = [
    path("", article_list),
    path("c/<slug:slug>/", category_page),
    path("a/<slug:slug>/", article_detail),
]

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def main() -> None:
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    rng = random.Random(17)
    call_command("migrate", verbosity=0)
    with connection.schema_editor() as editor:
        for m in (Category, Article, Comment):
            editor.create_model(m)
    writers = [User.objects.create_user(f"writer{i}", password=None) for i in range(5)]
    editors = Group.objects.create(name="editors")
    editors.permissions.set(Permission.objects.filter(codename__startswith="change_"))
    editors.user_set.add(*writers[:3])
    writers[4].user_permissions.add(Permission.objects.get(codename="add_user"))
    cats = [Category.objects.create(name=f"Topic {i}", slug=f"topic-{i}") for i in range(8)]
    Article.objects.bulk_create(
        Article(
            title=f"Article {i} ✓",
            slug=f"article-{i}",
            category=rng.choice(cats),
            author=rng.choice(writers),
            body="lorem ipsum " * rng.randrange(5, 50),
            published=T0 + datetime.timedelta(hours=i),
        )
        for i in range(200)
    )
    client = Client()
    for r in range(n):
        slug = f"article-{rng.randrange(200)}"
        assert client.get(f"/a/{slug}/").status_code == 200
        if r % 4 == 0:
            client.get("/", {"page": rng.randrange(1, 21)})
        if r % 6 == 0:
            client.get(f"/c/topic-{rng.randrange(8)}/")
        if r % 5 == 0:
            client.post(f"/a/{slug}/", {"name": f"reader{r}", "text": "nice ✓"})
        if r % 40 == 39:
            assert client.get("/a/no-such-article/").status_code == 404
    print(f"{Comment.objects.count()} comments", file=sys.stderr)


if __name__ == "__main__":
    main()
