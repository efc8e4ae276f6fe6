from django.core.management.base import BaseCommand

from shop.models import Product, Review


class Command(BaseCommand):
    help = "Creates the example shop's products and reviews (once)."

    def handle(self, *args, **options):
        if Product.objects.exists():
            return
        for i in range(1, 31):
            product = Product.objects.create(name=f"product {i}", price=100 * i)
            for stars in range(1, 6):
                Review.objects.create(product=product, stars=stars)
